"""Lost updates: two staff editing the same record at once.

Every edit form that two people can have open at the same time (a module's YAML, a
question, a roster record, an exam's settings, a village) carries the version it was
opened at — ``edit_token``, rendered by the template helper ``edit_token_input(obj)``:
the record's ``updated_at`` (and its version number where it has one). A save whose token
is not the record's current one is refused (409) before anything is written: the page
comes back with the editor's own input untouched and a box that shows what the other
person saved — field by field (saved now / yours), or as a diff of the text. Saving again
from that page is a deliberate overwrite: it carries the new token.

A POST without a token (an old page, a script) is not checked. On PostgreSQL the record
is locked (``SELECT … FOR UPDATE``) while checking, so two saves cannot both pass; SQLite
serialises writing requests anyway (academy.dbsetup).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import request
from markupsafe import Markup, escape

from academy.extensions import db

FIELD = "edit_token"
MAX_DIFF_LINES = 200


@dataclass
class Conflict:
    what: str  # "这条人员信息"
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # label, saved, yours
    diff: list[str] = field(default_factory=list)  # unified diff: their changes


def token(obj) -> str:
    parts = []
    for attr in ("version", "current_version"):
        value = getattr(obj, attr, None)
        if isinstance(value, int):
            parts.append(f"v{value}")
    stamp = getattr(obj, "updated_at", None)
    if stamp is not None:
        parts.append(stamp.isoformat(timespec="microseconds"))
    return "|".join(parts)


def token_input(obj) -> Markup:
    """The hidden field for an edit form (a Jinja global: ``{{ edit_token_input(obj) }}``)."""
    if obj is None:
        return Markup("")
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token(obj))}">')


def sent_version(default: int | None = None) -> int | None:
    """The version number the editor started from ("v3|…" → 3), if the form says."""
    raw = (request.form.get(FIELD) or "").split("|", 1)[0]
    return int(raw[1:]) if raw[:1] == "v" and raw[1:].isdigit() else default


def stale(obj) -> bool:
    """Did someone save ``obj`` after this form was opened? Locks the row on PostgreSQL."""
    sent = request.form.get(FIELD)
    if not sent:
        return False
    if db.engine.dialect.name != "sqlite":
        # Lock the row itself (a refresh FOR UPDATE would lock the eager-loaded joins
        # too, which PostgreSQL refuses for outer joins), then re-read it.
        mapper = sa.inspect(obj).mapper
        key = mapper.primary_key[0]
        db.session.execute(sa.select(key).where(key == getattr(obj, key.key)).with_for_update())
        db.session.refresh(obj)
    return sent != token(obj)


def _shown(f) -> str:
    value = f.data
    choices = getattr(f, "choices", None)
    if choices and not callable(choices):
        wanted = value if isinstance(value, list | tuple | set) else [value]
        labels = [
            str(choice[1])
            for choice in (c if isinstance(c, tuple) else (c.value, c.label) for c in choices)
            if choice[0] in wanted or str(choice[0]) in {str(w) for w in wanted}
        ]
        if labels or not value:
            return "、".join(labels)
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else str(value)


def form_changes(saved, mine, names: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """(label, saved now, yours) for every field of two forms of one class that differ."""
    rows = []
    for f in mine:
        if f.name in ("csrf_token", FIELD) or f.type in ("HiddenField", "SubmitField"):
            continue
        if names is not None and f.name not in names:
            continue
        other = saved[f.name]
        before, after = _shown(other), _shown(f)
        if before != after:
            rows.append((str(f.label.text), before, after))
    return rows


def text_diff(started: str, saved: str) -> list[str]:
    """What the other person changed: unified diff from the text the editor started from."""
    lines = list(
        difflib.unified_diff(
            started.splitlines(),
            saved.splitlines(),
            "您打开时的版本",
            "现在保存的版本",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"……（另有 {len(lines) - MAX_DIFF_LINES} 行改动）"]
    return lines


def check(
    obj,
    what: str,
    saved_form: Callable[[], object] | None = None,
    mine=None,
    diff: Callable[[], list[str]] | None = None,
) -> Conflict | None:
    """None if ``obj`` is as the editor opened it; else what the other person saved:
    ``saved_form()`` builds the form filled from the record as it is now (compared with
    ``mine``), ``diff()`` gives the changes of a text."""
    if not stale(obj):
        return None
    conflict = Conflict(what)
    if saved_form is not None and mine is not None:
        conflict.rows = form_changes(saved_form(), mine)
    if diff is not None:
        conflict.diff = diff()
    return conflict
