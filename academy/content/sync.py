"""Load validated content into the database: upsert by slug, never delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from academy.catalogue.models import ServiceItem
from academy.content.loader import CATALOGUE_FILE, ContentBundle, ContentDoc
from academy.content.problems import ContentInvalid, Problem
from academy.extensions import db


class PartReport(Protocol):
    """What a registered syncer returns: whether it changed anything, and its summary line
    (None when there is nothing to say, e.g. no file of that kind)."""

    @property
    def changed(self) -> bool: ...

    def line(self) -> str | None: ...


@dataclass
class DocumentSyncReport:
    """The usual PartReport of a folder of documents upserted by slug (a subclass names what
    they are in ``label`` and what a changed one became in ``updated_word``)."""

    label = "文件"
    updated_word = "更新"
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def line(self) -> str | None:
        if not (self.changed or self.unchanged):
            return None
        changed = f"{self.updated_word} {len(self.updated)} 个"
        return (
            f"{self.label}：新增 {len(self.created)} 个，{changed}，"
            f"停用 {len(self.retired)} 个，未变 {self.unchanged} 个。"
        )


Syncer = Callable[[list[ContentDoc]], PartReport]
# folder -> syncer, run after the catalogue in the order the kinds were registered
SYNCERS: dict[str, Syncer] = {}


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0
    parts: dict[str, PartReport] = field(default_factory=dict)  # folder -> its report

    @property
    def items_changed(self) -> bool:
        return bool(self.created or self.updated or self.retired or self.restored)

    @property
    def changed(self) -> bool:
        return self.items_changed or any(part.changed for part in self.parts.values())

    def lines(self) -> list[str]:
        lines = self._item_lines()
        for part in self.parts.values():
            line = part.line()
            if line:
                lines.append(line)
        return lines

    def _item_lines(self) -> list[str]:
        if not self.items_changed:
            return [f"事项目录：{self.unchanged} 项，均无变化。"]
        out = [
            f"事项目录：新增 {len(self.created)} 项，更新 {len(self.updated)} 项，"
            f"停用 {len(self.retired)} 项，恢复 {len(self.restored)} 项，未变 {self.unchanged} 项。"
        ]
        for label, slugs in (
            ("新增", self.created),
            ("更新", self.updated),
            ("停用", self.retired),
            ("恢复", self.restored),
        ):
            if slugs:
                out.append(f"  {label}：{', '.join(slugs)}")
        return out


def sync_content(bundle: ContentBundle) -> SyncReport:
    """Apply a bundle to the database (flush only; the caller commits)."""
    if bundle.problems:
        raise ContentInvalid(bundle.problems)
    report = SyncReport()
    existing = {i.slug: i for i in db.session.scalars(sa.select(ServiceItem))}
    _check_names(bundle, existing)
    # Names are unique: park renamed items under a temporary name first, so that two
    # items may swap names in one sync.
    specs = {spec.slug: spec for spec in bundle.items}
    renamed = [i for slug, i in existing.items() if slug in specs and i.name != specs[slug].name]
    for item in renamed:
        item.name = f"~{item.slug}"[:80]
    if renamed:
        db.session.flush()
    wanted = set()
    for spec in bundle.items:
        wanted.add(spec.slug)
        values = spec.values()
        item = existing.get(spec.slug)
        if item is None:
            db.session.add(ServiceItem(**values))
            report.created.append(spec.slug)
            continue
        changed = item in renamed
        for key, value in values.items():
            if getattr(item, key) != value:
                setattr(item, key, value)
                changed = True
        if item.retired:
            item.retired = False
            report.restored.append(spec.slug)
        elif changed:
            report.updated.append(spec.slug)
        else:
            report.unchanged += 1
    for slug, item in existing.items():
        if slug not in wanted and not item.retired:
            item.retired = True  # kept for history; hidden from new offerings
            report.retired.append(slug)
    db.session.flush()
    for folder, syncer in SYNCERS.items():
        report.parts[folder] = syncer(bundle.documents.get(folder, []))
    return report


def _check_names(bundle: ContentBundle, existing: dict[str, ServiceItem]) -> None:
    """A name still held by an item this sync does not rename is a problem, not a crash."""
    specs = {spec.slug: spec for spec in bundle.items}
    holders = {i.name: i for i in existing.values()}
    problems = []
    for index, spec in enumerate(bundle.items):
        holder = holders.get(spec.name)
        if holder is None or holder.slug == spec.slug or holder.slug in specs:
            continue
        problems.append(
            Problem(
                CATALOGUE_FILE,
                f"items[{index}]({spec.slug}).name",
                f"名称与数据库中已停用的事项 {holder.slug} 相同；如果只是修改了 slug，"
                f"请改回原来的 slug “{holder.slug}”，以保留学习记录",
            )
        )
    if problems:
        raise ContentInvalid(problems)
