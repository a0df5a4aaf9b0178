"""Pure rules of the roster: identity checks and posting transitions. No database."""

from __future__ import annotations

from datetime import date

# The identity checks live with the other shared checks; the names stay importable here.
from academy.validators import (  # noqa: F401
    ID_CHECK_CHARS,
    ID_WEIGHTS,
    LANDLINE_RE,
    MOBILE_RE,
    birth_year_from_id,
    id_check_char,
    id_number_problem,
    normalise_id_number,
    normalise_phone,
    normalise_text,
    phone_problem,
)


def birth_year_problem(year: int | None, today: date | None = None) -> str | None:
    if year is None:
        return None
    this_year = (today or date.today()).year
    if not (this_year - 90 <= year <= this_year - 16):
        return f"出生年份应在 {this_year - 90} 到 {this_year - 16} 之间。"
    return None


def departure_problem(joined_on: date, left_on: date, today: date) -> str | None:
    if left_on < joined_on:
        return f"离岗日期不能早于到岗日期（{joined_on:%Y-%m-%d}）。"
    if left_on > today:
        return "离岗日期不能晚于今天；请在实际离岗后登记。"
    return None


def joining_problem(joined_on: date, today: date, last_left_on: date | None) -> str | None:
    if joined_on > today:
        return "到岗日期不能晚于今天。"
    if last_left_on is not None and joined_on < last_left_on:
        return f"到岗日期不能早于上一次离岗日期（{last_left_on:%Y-%m-%d}）。"
    return None
