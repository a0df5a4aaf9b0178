"""Pure certification and coverage rules: status at a date, eligibility, renewal,
coverage gaps and their causes. No database, no request; every date is explicit."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from academy.db import LabelledEnum

FAR_FUTURE = date(9999, 12, 31)


class CertStatus(LabelledEnum):
    PENDING = ("pending", "未生效")
    VALID = ("valid", "有效")
    EXPIRING = ("expiring", "即将到期")
    EXPIRED = ("expired", "已过期")
    REVOKED = ("revoked", "已撤销")


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_for(issued_on: date, validity_months: int) -> date:
    """Last day of validity: issued 2026-01-15 for 12 months is valid through 2027-01-14."""
    return add_months(issued_on, validity_months) - timedelta(days=1)


def certificate_status(
    issued_on: date, expires_on: date, revoked_on: date | None, on: date, window_days: int
) -> CertStatus:
    """Status on day ``on``; ``expires_on`` is the last valid day; the renewal window is
    the last ``window_days`` days of validity."""
    if revoked_on is not None and revoked_on <= on:
        return CertStatus.REVOKED
    if on < issued_on:
        return CertStatus.PENDING
    if on > expires_on:
        return CertStatus.EXPIRED
    if on > expires_on - timedelta(days=window_days):
        return CertStatus.EXPIRING
    return CertStatus.VALID


def counts_as_valid(status: CertStatus) -> bool:
    return status in (CertStatus.VALID, CertStatus.EXPIRING)


def in_renewal_window(expires_on: date, on: date, window_days: int) -> bool:
    return expires_on - timedelta(days=window_days) < on <= expires_on


def window_start(expires_on: date, window_days: int) -> date:
    return expires_on - timedelta(days=window_days) + timedelta(days=1)


def renewal_dates(old_expires_on: date, on: date, validity_months: int) -> tuple[date, date]:
    """Renewing inside the window continues the old validity without a gap or overlap;
    a late renewal (after expiry) starts on the day it is granted."""
    start = max(on, old_expires_on + timedelta(days=1))
    return start, expiry_for(start, validity_months)


@dataclass(frozen=True)
class Requirement:
    item_ids: frozenset[int]
    min_exam_score: float | None = None
    min_simulation_score: float | None = None


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    missing_items: frozenset[int]
    exam_missing: bool
    simulation_missing: bool

    @property
    def steps_left(self) -> int:
        return len(self.missing_items) + self.exam_missing + self.simulation_missing


def eligibility(
    req: Requirement,
    passed_item_ids: Iterable[int],
    best_exam: float | None = None,
    best_simulation: float | None = None,
) -> Eligibility:
    missing = frozenset(req.item_ids - set(passed_item_ids))
    exam_missing = req.min_exam_score is not None and (best_exam or 0.0) < req.min_exam_score
    sim_missing = req.min_simulation_score is not None and (
        (best_simulation or 0.0) < req.min_simulation_score
    )
    ok = bool(req.item_ids) and not missing and not exam_missing and not sim_missing
    return Eligibility(ok, missing, exam_missing, sim_missing)


def required_items(scheme_items: frozenset[int], offered: Iterable[int]) -> frozenset[int]:
    """What an agent must have passed: the scheme's items that their village offers (a village
    agent is not asked to master community-only items), or all of them if it offers none."""
    mine = scheme_items & set(offered)
    return frozenset(mine) if mine else scheme_items


def refresher_done(
    recent_passed_items: Iterable[int], scheme_items: Iterable[int], needed: int
) -> bool:
    """Renewal path: inside the window, pass the short check of ``needed`` modules of the scheme."""
    scheme = set(scheme_items)
    return len(set(recent_passed_items) & scheme) >= min(needed, len(scheme))


@dataclass(frozen=True)
class RefresherNeed:
    needed: int  # modules to re-pass
    done: int  # of them re-passed since the window opened (or the certificate lapsed)
    todo: tuple[int, ...]  # item ids to take next, best first

    @property
    def left(self) -> int:
        return max(0, self.needed - self.done)


def refresher_need(
    scheme_items: Iterable[int],
    offered: Iterable[int],
    recent_passed_items: Iterable[int],
    needed: int,
    with_module: Iterable[int],
    rank: Mapping[int, int] | None = None,
) -> RefresherNeed:
    """What is left of the renewal path (see ``refresher_done``): how many of the scheme's
    modules to re-pass, and which ones to offer — those the agent's village offers first,
    then the busiest (``rank``: higher first); only items that have a module."""
    scheme, offered_set = set(scheme_items), set(offered)
    need = min(needed, len(scheme))
    done = len(set(recent_passed_items) & scheme)
    rank = rank or {}
    todo = sorted(
        (scheme & set(with_module)) - set(recent_passed_items),
        key=lambda i: (i not in offered_set, -rank.get(i, 0), i),
    )
    return RefresherNeed(need, min(done, need), tuple(todo) if done < need else ())


def gap_next_step(
    has_agent: bool,
    missing_names: list[str],
    exam_score: float | None,
    lapsed_on: date | None,
    refresher: int,
) -> str:
    """The next concrete step that closes a coverage gap, for the township head: never a
    bare count (「还差 0 个模块」)."""
    if not has_agent:
        return "先新增一名在岗代办员，再安排学习取证"
    if lapsed_on is not None and not missing_names:
        return f"证书已于 {lapsed_on:%Y-%m-%d} 过期：复训 {refresher} 个模块并通过小测即可恢复"
    exam = f"通过本类考试（{exam_score:g} 分及以上）" if exam_score is not None else ""
    if missing_names:
        shown = "、".join(missing_names[:3]) + ("等" if len(missing_names) > 3 else "")
        step = f"学完 {len(missing_names)} 个模块（{shown}）"
        return f"{step}，再{exam}" if exam else step
    if exam:
        return f"模块已全部学完，还需{exam}"
    return "已满足取证条件，系统每日检查时会自动发证"


# --- coverage ---------------------------------------------------------------------------


# The coverage rule itself (who covers what, how many a station needs) is in SQL, once:
# ``certification.coverage.coverage_pairs``.


def coverage_rate(required_pairs: int, covered_pairs: int) -> float:
    return 1.0 if required_pairs == 0 else covered_pairs / required_pairs


@dataclass(frozen=True)
class Spell:
    """A stretch of days during which one agent covered a key in a village."""

    agent_id: int
    start: date
    end: date  # last covered day (FAR_FUTURE while ongoing)
    ended_by: str  # "departure" | "expiry" | "revocation" | "" (ongoing)


def coverage_spell(
    agent_id: int,
    joined_on: date,
    left_on: date | None,
    issued_on: date,
    expires_on: date,
    revoked_on: date | None,
) -> Spell | None:
    """Intersection of a posting and a certificate; None if they never overlapped."""
    post_end = left_on - timedelta(days=1) if left_on else FAR_FUTURE  # leaving day is not covered
    cert_end = expires_on
    ended = "expiry"
    if revoked_on is not None and revoked_on - timedelta(days=1) < cert_end:
        cert_end, ended = revoked_on - timedelta(days=1), "revocation"
    start, end = max(joined_on, issued_on), min(post_end, cert_end)
    if end < start:
        return None
    if end == FAR_FUTURE:
        return Spell(agent_id, start, end, "")
    return Spell(agent_id, start, end, "departure" if post_end <= cert_end else ended)


class GapCause(LabelledEnum):
    DEPARTURE = ("departure", "持证代办员离岗")
    EXPIRY = ("expiry", "证书到期")
    REVOCATION = ("revocation", "证书被撤销")
    NEVER = ("never", "从未覆盖")


@dataclass(frozen=True)
class GapOrigin:
    cause: GapCause
    since: date | None  # first uncovered day; None if never covered


def gap_origin(spells: Iterable[Spell], on: date) -> GapOrigin:
    """Why a key is uncovered on ``on``: what ended the most recent coverage before it."""
    past = [s for s in spells if s.start <= on and s.end < on]
    if not past:
        return GapOrigin(GapCause.NEVER, None)
    last = max(past, key=lambda s: s.end)
    cause = {"departure": GapCause.DEPARTURE, "revocation": GapCause.REVOCATION}.get(
        last.ended_by, GapCause.EXPIRY
    )
    return GapOrigin(cause, last.end + timedelta(days=1))


def month_ends(today: date, months: int = 12) -> list[date]:
    """The last day of each of the last ``months`` months, the current month ending today."""
    out = [today]
    cursor = today.replace(day=1) - timedelta(days=1)
    while len(out) < months:
        out.append(cursor)
        cursor = cursor.replace(day=1) - timedelta(days=1)
    return list(reversed(out))
