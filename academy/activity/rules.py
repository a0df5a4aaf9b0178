"""Pure rules of the learning-event log: the xAPI statement of an event, China-time day
and month boundaries, export range checks. No database, no request.

The statement follows xAPI 1.0.3 (https://github.com/adlnet/xAPI-Spec): actor, verb
(ADL verb IRIs where one exists), object (an Activity ``urn:academy:<type>:<id>``), result,
context and timestamp; its ``id`` is a UUID derived from the event id, so exporting the
same events twice gives the same statements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from academy.activity.models import ObjectType, Verb

DEFAULT_HOME_PAGE = "urn:academy"
PLATFORM = "村级代办员学堂"
LANGUAGE = "zh-CN"
STATEMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:academy:learning-event")
EXT = "urn:academy:ext:"  # prefix of our extension keys (xAPI wants IRIs as keys)

ADL = "http://adlnet.gov/expapi/verbs/"
VERB_IRIS: dict[Verb, str] = {
    Verb.OPENED: ADL + "experienced",
    Verb.ANSWERED: ADL + "answered",
    Verb.PASSED: ADL + "passed",
    Verb.FAILED: ADL + "failed",
    Verb.STARTED: ADL + "attempted",
    Verb.SAVED: ADL + "progressed",
    Verb.SUBMITTED: ADL + "completed",
    Verb.GRADED: ADL + "scored",
    Verb.STEPPED: ADL + "responded",
    Verb.COMPLETED: ADL + "completed",
    # no ADL verb for these: our own, stable IRIs
    Verb.ISSUED: "urn:academy:verb:issued",
    Verb.RENEWED: "urn:academy:verb:renewed",
    Verb.REVOKED: "urn:academy:verb:revoked",
    Verb.LAPSED: "urn:academy:verb:lapsed",
}
ADL_ACTIVITY = "http://adlnet.gov/expapi/activities/"
ACTIVITY_TYPES: dict[ObjectType, str] = {
    ObjectType.MODULE: ADL_ACTIVITY + "module",
    ObjectType.PRACTICE: ADL_ACTIVITY + "interaction",
    ObjectType.CHECK: ADL_ACTIVITY + "assessment",
    ObjectType.EXAM: ADL_ACTIVITY + "assessment",
    ObjectType.ATTEMPT: ADL_ACTIVITY + "attempt",
    ObjectType.SIMULATION: ADL_ACTIVITY + "simulation",
    ObjectType.CERTIFICATE: "urn:academy:activity-type:certificate",
}
#: verbs that mean the learner did something (they make a month's "active learners")
LEARNER_VERBS = frozenset(
    {
        Verb.OPENED,
        Verb.ANSWERED,
        Verb.PASSED,
        Verb.FAILED,
        Verb.STARTED,
        Verb.SAVED,
        Verb.SUBMITTED,
        Verb.STEPPED,
        Verb.COMPLETED,
    }
)
RESULT_KEYS = ("score", "max", "success", "completion", "response")

# China Standard Time has had no daylight saving since 1991: a fixed offset is exact.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
MAX_RANGE_DAYS = 366


# --- the statement -------------------------------------------------------------------------


def statement_id(event_id: int) -> str:
    return str(uuid.uuid5(STATEMENT_NAMESPACE, str(event_id)))


def activity_iri(object_type: str, object_id: str) -> str:
    """``urn:academy:<kind>:<id>`` — the kind is an ObjectType for the event's own object, or
    any kind a parent names (a practice answer's parent is its ``practice-session``)."""
    kind = object_type.value if isinstance(object_type, ObjectType) else str(object_type)
    return f"urn:academy:{kind}:{object_id}"


def iso_timestamp(at: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z; naive datetimes are taken as UTC."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _account(home_page: str, name: str) -> dict:
    return {"homePage": home_page, "name": name}


def _actor(event, agent_name: str | None, user_name: str | None, home_page: str) -> dict:
    if event.agent_id is not None:
        return {
            "objectType": "Agent",
            "name": agent_name or f"代办员 {event.agent_id}",
            "account": _account(home_page, str(event.agent_id)),
        }
    if event.user_id is not None:
        return {
            "objectType": "Agent",
            "name": user_name or f"用户 {event.user_id}",
            "account": _account(home_page, f"user:{event.user_id}"),
        }
    return {"objectType": "Agent", "name": PLATFORM, "account": _account(home_page, "system")}


def _result(result: dict | None) -> dict | None:
    if not result:
        return None
    out: dict[str, Any] = {}
    if result.get("score") is not None:
        raw = result["score"]
        top = result.get("max")
        score: dict[str, Any] = {"raw": raw, "min": 0}
        if top:
            score["max"] = top
            score["scaled"] = round(max(-1.0, min(1.0, raw / top)), 4)
        out["score"] = score
    for key in ("success", "completion"):
        if result.get(key) is not None:
            out[key] = bool(result[key])
    if result.get("response") is not None:
        out["response"] = str(result["response"])
    extra = {EXT + k: v for k, v in result.items() if k not in RESULT_KEYS}
    if extra:
        out["extensions"] = extra
    return out or None


def _context(
    event,
    user_name: str | None,
    township_name: str | None,
    village_name: str | None,
    home_page: str,
) -> dict:
    stored = dict(event.context or {})
    ctx: dict[str, Any] = {"platform": PLATFORM, "language": LANGUAGE}
    if event.agent_id is not None and event.user_id is not None:
        ctx["instructor"] = {
            "objectType": "Agent",
            "name": user_name or f"用户 {event.user_id}",
            "account": _account(home_page, f"user:{event.user_id}"),
        }
    parent = stored.pop("parent", None)
    if parent:
        kind, _, ident = str(parent).partition(":")
        ctx["contextActivities"] = {
            "parent": [{"objectType": "Activity", "id": activity_iri(kind, ident)}]
        }
    ext: dict[str, Any] = {}
    if event.township_id is not None:
        ext[EXT + "township"] = {"id": event.township_id, "name": township_name}
    if event.village_id is not None:
        ext[EXT + "village"] = {"id": event.village_id, "name": village_name}
    ext.update({EXT + k: v for k, v in stored.items()})
    if ext:
        ctx["extensions"] = ext
    return ctx


def to_statement(
    event,
    *,
    agent_name: str | None = None,
    user_name: str | None = None,
    township_name: str | None = None,
    village_name: str | None = None,
    home_page: str = DEFAULT_HOME_PAGE,
) -> dict:
    """The xAPI statement of an event-like object (a LearningEvent, or a row with its
    columns: id, at, agent_id, user_id, verb, object_type, object_id, object_name,
    township_id, village_id, result, context).

    The actor is the learner (account name: the agent id); an event without a learner is
    told as the user who acted (``user:<id>``). When both are set (an expert marking a
    learner's answer) the user is ``context.instructor``."""
    verb = Verb(event.verb)
    object_type = ObjectType(event.object_type)
    statement: dict[str, Any] = {
        "id": statement_id(event.id),
        "actor": _actor(event, agent_name, user_name, home_page),
        "verb": {"id": VERB_IRIS[verb], "display": {LANGUAGE: verb.label}},
        "object": {
            "objectType": "Activity",
            "id": activity_iri(object_type, event.object_id),
            "definition": {
                "name": {LANGUAGE: event.object_name},
                "type": ACTIVITY_TYPES[object_type],
            },
        },
    }
    result = _result(event.result)
    if result:
        statement["result"] = result
    statement["context"] = _context(event, user_name, township_name, village_name, home_page)
    statement["timestamp"] = iso_timestamp(event.at)
    return statement


def result_text(result: dict | None) -> str:
    """A short Chinese summary of a result for tables: "4/5 · 合格", "有错误", "已完成"."""
    if not result:
        return ""
    parts = []
    score, top, success = result.get("score"), result.get("max"), result.get("success")
    if score is not None:
        if top == 1 and 0 <= score <= 1:
            parts.append(f"{score:.0%}")
        else:
            parts.append(f"{score:g}/{top:g}" if top else f"{score:g}")
    if success is not None:
        if score is not None:
            parts.append("合格" if success else "不合格")
        else:
            parts.append("正确" if success else "有错误")
    elif result.get("completion"):
        parts.append("已完成")
    return " · ".join(parts)


# --- China-time days and months ----------------------------------------------------------


def to_local(at: datetime) -> datetime:
    """A naive UTC datetime as naive China time (for display)."""
    from academy.timefmt import to_county

    return to_county(at)


def day_start_utc(day: date) -> datetime:
    """00:00 China time of ``day`` as naive UTC."""
    return datetime.combine(day, time.min) - timedelta(hours=8)


def day_moment(day: date) -> datetime:
    """The moment that stands for an event known only by its date (a certificate issued
    last month, a lapse): 08:00 China time = 00:00 UTC, inside the day in both clocks."""
    return datetime.combine(day, time.min)


def range_utc(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the China-time days date_from … date_to (inclusive)."""
    return day_start_utc(date_from), day_start_utc(date_to + timedelta(days=1))


def month_first(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(first: date) -> tuple[datetime, datetime]:
    return day_start_utc(first), day_start_utc(next_month(first))


def recent_months(today: date, months: int = 12) -> list[date]:
    """First days of the last ``months`` months, oldest first, the current month last."""
    out = [month_first(today)]
    while len(out) < months:
        out.append(month_first(out[-1] - timedelta(days=1)))
    return list(reversed(out))


@dataclass(frozen=True)
class Spell:
    """A posting as the log needs it: when, and where."""

    joined_on: date
    left_on: date | None
    village_id: int
    township_id: int


def place_on(spells: list[Spell], day: date) -> tuple[int | None, int | None]:
    """(village_id, township_id) of the posting active on ``day``; else of the last posting
    that began before it (the holder had left: where they last served); else nothing."""
    active = [s for s in spells if s.joined_on <= day and (s.left_on is None or s.left_on > day)]
    earlier = sorted(
        (s for s in spells if s.joined_on <= day), key=lambda s: (s.joined_on, s.left_on or day)
    )
    spell = active[-1] if active else (earlier[-1] if earlier else None)
    return (spell.village_id, spell.township_id) if spell else (None, None)


def parse_day(raw: str) -> date | None:
    """A day written as 2026-03-01 (also 2026/3/1); None if it is not one."""
    text = raw.strip().replace("/", "-")
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    try:
        day = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2100 else None  # year 0001 or 9999: a slip


def read_range(
    raw_from: str, raw_to: str, today: date, max_days: int = MAX_RANGE_DAYS
) -> tuple[date | None, date | None, list[tuple[str, str]]]:
    """The export's date range from the two query arguments: (from, to, problems). Both
    empty means this month so far."""
    raw_from, raw_to = raw_from.strip()[:20], raw_to.strip()[:20]
    if not raw_from and not raw_to:
        return month_first(today), today, []
    date_from, date_to = parse_day(raw_from), parse_day(raw_to)
    problems = []
    for raw, day, field, label in (
        (raw_from, date_from, "date_from", "开始日期"),
        (raw_to, date_to, "date_to", "结束日期"),
    ):
        if not raw:
            problems.append((field, f"请填写{label}，格式如 {today:%Y-%m-%d}。"))
        elif day is None:
            problems.append(
                (field, f"{label}“{raw}”不是有效日期，请按 {today:%Y-%m-%d} 的格式填写。")
            )
    if problems:
        return date_from, date_to, problems
    return date_from, date_to, range_problems(date_from, date_to, max_days)


def range_problems(
    date_from: date | None, date_to: date | None, max_days: int = MAX_RANGE_DAYS
) -> list[tuple[str, str]]:
    """(field, message) for every problem of an export's date range."""
    problems = []
    if date_from is None:
        problems.append(("date_from", "请填写开始日期，格式如 2026-03-01。"))
    if date_to is None:
        problems.append(("date_to", "请填写结束日期，格式如 2026-03-31。"))
    if problems:
        return problems
    if date_from > date_to:
        problems.append(
            (
                "date_to",
                f"结束日期（{date_to:%Y-%m-%d}）不能早于开始日期（{date_from:%Y-%m-%d}）。",
            )
        )
    elif (date_to - date_from).days + 1 > max_days:
        days = (date_to - date_from).days + 1
        problems.append(
            ("date_to", f"日期范围为 {days} 天，最长 {max_days} 天，请缩短范围或分几次导出。")
        )
    return problems
