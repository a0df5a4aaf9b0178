"""Pure rules of practice mode: the Leitner schedule, the ranking of weak items and the choice
of a session's questions. No db, no request; the services feed them plain values."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from academy.questions import types

RIGHT = 0.999  # a fraction at or above this is a right answer; anything less is wrong
BOX_INTERVAL_DAYS = (1, 2, 4, 8, 16)  # days until a card in box 1..5 comes back
MAX_BOX = len(BOX_INTERVAL_DAYS)
SESSION_SIZE = 10
MAX_SESSION_SIZE = 30
RECENT_ANSWERS = 10  # the accuracy of an item is taken over this many latest answers
NEW_PER_ITEM = 3  # new questions taken from one item before moving to the next weakest
# Not auto-marked: an essay waits for an expert, a description is not a question.
EXCLUDED_TYPES = frozenset(types.expert_marked() + types.unscored())


# --- the Leitner schedule -------------------------------------------------------------


def _check_box(box: int) -> None:
    if isinstance(box, bool) or not isinstance(box, int) or not 1 <= box <= MAX_BOX:
        raise ValueError(f"box must be 1..{MAX_BOX}, not {box!r}")


def _check_fraction(fraction: float) -> None:
    if fraction is None or math.isnan(fraction) or not -1e-9 <= fraction <= 1 + 1e-9:
        raise ValueError(f"fraction must be 0..1, not {fraction!r}")


def is_right(fraction: float) -> bool:
    _check_fraction(fraction)
    return fraction >= RIGHT


def next_box(box: int, fraction: float) -> int:
    """A right answer moves the card up one box (at most the last); a wrong or partly right
    one sends it back to box 1."""
    _check_box(box)
    return min(box + 1, MAX_BOX) if is_right(fraction) else 1


def interval_days(box: int) -> int:
    _check_box(box)
    return BOX_INTERVAL_DAYS[box - 1]


def schedule(box: int | None, fraction: float, answered_on: date) -> tuple[int, date]:
    """The card's new box and the day it is due again. A question seen for the first time
    (``box`` None) starts in box 1, so a right first answer puts it in box 2."""
    new_box = next_box(1 if box is None else box, fraction)
    return new_box, answered_on + timedelta(days=interval_days(new_box))


# --- weak items ---------------------------------------------------------------------------


def accuracy(recent: Sequence[float], n: int = RECENT_ANSWERS) -> float | None:
    """Share of right answers among the latest ``n`` (``recent`` is newest first); None when
    there is no answer."""
    window = list(recent)[:n]
    if not window:
        return None
    return sum(1 for f in window if f >= RIGHT) / len(window)


@dataclass(frozen=True)
class ItemRecord:
    """What the ranking needs to know about one item of the agent's village."""

    item_id: int
    name: str
    frequency: int  # 1..5, how often villagers need it
    questions: int  # practicable questions of the item
    module_passed: bool
    recent: tuple[float, ...] = ()  # fractions of the latest practice answers, newest first


@dataclass(frozen=True)
class Weakness:
    item_id: int
    name: str
    frequency: int
    questions: int
    module_passed: bool
    answered: int  # answers taken into the accuracy (at most RECENT_ANSWERS)
    accuracy: float | None

    @property
    def first_group(self) -> bool:
        return self.answered == 0 or not self.module_passed

    @property
    def reason(self) -> str:
        if self.answered == 0:
            return "还没练过" if self.module_passed else "还没练过，模块未通过"
        share = f"近 {self.answered} 题答对 {round(self.accuracy * 100)}%"
        return share if self.module_passed else f"模块未通过，{share}"


def rank_weak_items(records: Iterable[ItemRecord], n: int = RECENT_ANSWERS) -> list[Weakness]:
    """Weakest first: items never practised or whose module is not passed, then by the lowest
    accuracy over the latest ``n`` answers (never practised counts as 0), ties by the item's
    frequency (most needed first), then name. Items with no practicable question are left
    out: there is nothing to practise."""
    out = []
    for r in records:
        if r.questions <= 0:
            continue
        acc = accuracy(r.recent, n)
        out.append(
            Weakness(
                r.item_id,
                r.name,
                r.frequency,
                r.questions,
                r.module_passed,
                min(len(r.recent), n),
                acc,
            )
        )
    out.sort(
        key=lambda w: (
            0 if w.first_group else 1,
            0.0 if w.accuracy is None else w.accuracy,
            -w.frequency,
            w.name,
            w.item_id,
        )
    )
    return out


# --- choosing a session ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    question_id: int
    item_id: int | None
    qtype: str
    retired: bool = False
    difficulty: int | None = None


@dataclass(frozen=True)
class CardState:
    question_id: int
    box: int
    due_on: date


def practicable(qtype: str, retired: bool) -> bool:
    """Only live, auto-marked questions are practised (an answer is graded at once)."""
    return not retired and qtype not in EXCLUDED_TYPES


def select_session(
    candidates: Iterable[Candidate],
    cards: Mapping[int, CardState],
    item_rank: Sequence[int],
    today: date,
    size: int = SESSION_SIZE,
    per_item: int = NEW_PER_ITEM,
) -> list[int]:
    """The question ids of a session, in the order they are asked, at most ``size``:

    1. cards due today or earlier, most overdue first (then the lower box, then id);
    2. questions never practised, from the weakest item first (``item_rank``), at most
       ``per_item`` of an item before the next item gets its turn, easier ones first;
    3. if there is still room, cards not due yet, the soonest due first (extra practice).

    Each question at most once; retired questions and essays/descriptions never.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    pool: dict[int, Candidate] = {}
    for c in candidates:
        if practicable(c.qtype, c.retired):
            pool.setdefault(c.question_id, c)

    def card_key(qid: int):
        card = cards[qid]
        return (card.due_on, card.box, qid)

    carded = [qid for qid in pool if qid in cards]
    due = sorted((q for q in carded if cards[q].due_on <= today), key=card_key)
    ahead = sorted((q for q in carded if cards[q].due_on > today), key=card_key)

    fresh: dict[int, list[Candidate]] = defaultdict(list)
    for c in pool.values():
        if c.question_id not in cards and c.item_id is not None:
            fresh[c.item_id].append(c)
    queues = {
        item: sorted(cs, key=lambda c: (c.difficulty or 2, c.question_id))
        for item, cs in fresh.items()
    }
    ranked = list(dict.fromkeys(i for i in item_rank if i in queues))
    new: list[int] = []
    step = max(1, per_item)
    while any(queues[i] for i in ranked):
        for item in ranked:
            taken, queues[item] = queues[item][:step], queues[item][step:]
            new.extend(c.question_id for c in taken)

    chosen = list(dict.fromkeys([*due, *new, *ahead]))
    return chosen[:size]


# --- what the agent is told -------------------------------------------------------------------


def verdict(fraction: float) -> str:
    if is_right(fraction):
        return "答对了"
    if fraction > 0:
        return f"部分正确（得 {round(fraction * 100)}%）"
    return "答错了"


def when_back(due_on: date, today: date) -> str:
    days = (due_on - today).days
    if days <= 0:
        return "今天"
    if days == 1:
        return "明天"
    if days == 2:
        return "后天"
    return f"过 {days} 天（{due_on.month} 月 {due_on.day} 日）"


def comeback(due_dates: Iterable[date], today: date) -> list[str]:
    """Lines like "3 道题明天再练", soonest first, for the cards a session touched."""
    counts = Counter(due_dates)
    return [f"{counts[d]} 道题{when_back(d, today)}再练" for d in sorted(counts)]


def box_shares(counts: Sequence[int]) -> list[int]:
    """Width of each box's bar as a percentage of the fullest box, rounded to 5 (the CSS has
    a class per step), at least 5 for a box that holds any card."""
    top = max(counts, default=0)
    if top == 0:
        return [0 for _ in counts]
    return [0 if c == 0 else max(5, round(c * 100 / top / 5) * 5) for c in counts]


def incomplete(qtype: str, raw) -> str | None:
    """Why a response read from the form is not finished yet (the question is shown again),
    or None. Graded as it is, an unfinished order or matching would just count as wrong."""
    if raw is None:
        return "请先作答再提交。"
    return types.get_type(qtype).incomplete(raw)
