"""Pure grading rules, one per question type, as Moodle grades them. No db, no request."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence


def normalise_text(value: str) -> str:
    """For comparing short answers: full-/half-width folded, case folded, spaces removed
    (Chinese answers are often typed with stray spaces)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).casefold()


def grade_multichoice(fractions: Sequence[float], chosen: set[int], single: bool) -> float:
    """Single: the fraction of the chosen answer (never below 0). Multiple: the sum of the
    chosen fractions (wrong choices may be negative), clamped to 0..1."""
    if single:
        return max(0.0, fractions[next(iter(chosen))]) if len(chosen) == 1 else 0.0
    return max(0.0, min(1.0, sum(fractions[i] for i in chosen)))


def grade_truefalse(correct: bool, given: bool) -> float:
    return 1.0 if given is correct else 0.0


def _wildcard(pattern: str) -> re.Pattern:
    parts = [re.escape(p) for p in normalise_text(pattern).split("*")]
    return re.compile("^" + ".*".join(parts) + "$")


def grade_shortanswer(answers: Sequence[tuple[str, float]], given: str) -> float:
    """Best fraction among accepted answers that match (``*`` is a wildcard, as in Moodle)."""
    text = normalise_text(given)
    if not text:
        return 0.0
    best = 0.0
    for pattern, fraction in answers:
        matched = (
            _wildcard(pattern).match(text) if "*" in pattern else normalise_text(pattern) == text
        )
        if matched:
            best = max(best, fraction)
    return best


def parse_number(given: str) -> float | None:
    text = unicodedata.normalize("NFKC", given).strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def grade_numerical(answers: Sequence[tuple[float, float, float]], given: str) -> float:
    """answers: (value, tolerance, fraction); the best fraction whose range contains the value."""
    value = parse_number(given)
    if value is None:
        return 0.0
    return max((f for v, tol, f in answers if abs(value - v) <= tol + 1e-9), default=0.0)


def grade_matching(right: Sequence[str], given: Sequence[str | None]) -> float:
    """One mark per correctly matched left-hand item, as a fraction of all of them."""
    if not right:
        return 0.0
    return sum(1 for want, got in zip(right, given, strict=False) if got == want) / len(right)


def grade_ordering(count: int, given: Sequence[int]) -> float:
    """given: the item indexes in the learner's order; one mark per item in its right place."""
    if count == 0:
        return 0.0
    return sum(1 for position, index in enumerate(given) if index == position) / count
