"""Checks of values that many features accept: 居民身份证号码, phone numbers, dates.

Low level (no feature, no database, no request): forms, content files, the roster and the
learning tasks all call these, so they live below every feature.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

# Every date (and time) the platform accepts lies in these years: a year like 0001 or 9999
# is a typing slip, and would overflow the arithmetic on it (Beijing ↔ UTC, +days).
MIN_YEAR, MAX_YEAR = 1900, 2100
YEAR_MESSAGE = f"日期应在 {MIN_YEAR} 年到 {MAX_YEAR} 年之间，请检查年份。"


def sane_date(value: date | datetime | None) -> bool:
    return value is None or MIN_YEAR <= value.year <= MAX_YEAR


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE_RE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")


def normalise_text(value: str) -> str:
    """Full-width digits and letters (common with Chinese input methods) to ASCII, trimmed."""
    return unicodedata.normalize("NFKC", value).strip()


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_problem(value: str, today: date | None = None) -> str | None:
    """Why an 18-digit 居民身份证号码 is invalid (GB 11643), or None if it is valid."""
    value = normalise_id_number(value)
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return "身份证号应为18位，前17位为数字，最后一位为数字或X。"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期不是有效日期。"
    if born.year < 1900 or born > (today or date.today()):
        return "身份证号中的出生日期不合理。"
    if id_check_char(value[:17]) != value[17]:
        return "身份证号校验位不正确，请核对是否有输错的数字。"
    return None


def normalise_id_number(value: str) -> str:
    return normalise_text(value).upper()


def birth_year_from_id(value: str) -> int:
    return int(normalise_id_number(value)[6:10])


def phone_problem(value: str) -> str | None:
    value = normalise_phone(value)
    if MOBILE_RE.match(value) or LANDLINE_RE.match(value):
        return None
    return "电话号码格式不正确：手机号为11位（以1开头），座机如 0575-86012345。"


def normalise_phone(value: str) -> str:
    return normalise_text(value).replace(" ", "")
