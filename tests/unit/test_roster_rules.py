"""Roster and account rules: identity numbers, phones, ages, posting dates, passwords."""

from __future__ import annotations

from datetime import date

import pytest

from academy.auth.rules import password_problems
from academy.roster.rules import (
    birth_year_from_id,
    birth_year_problem,
    departure_problem,
    id_check_char,
    id_number_problem,
    joining_problem,
    phone_problem,
)

TODAY = date(2026, 6, 1)


def valid_id(first17: str) -> str:
    return first17 + id_check_char(first17)


# --------------------------------------------------------------------- 身份证号


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("11010519491231002", "X"),  # the worked example of GB 11643-1999
        ("33062419850315018", "X"),
        ("33062419700101001", "9"),
        ("33062420000229123", "2"),  # a real 29 February
    ],
)
def test_check_char_matches_gb11643(first17, check):
    assert id_check_char(first17) == check


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        "33062419850315018X",
        "33062419850315018x",  # lower-case x is what people type
        " 330624197001010019 ",  # stray spaces from copy-paste
        "330624200002291232",
        valid_id("33062419600815222"),
        valid_id("33010219991231000"),
    ],
)
def test_valid_id_numbers_are_accepted(number):
    assert id_number_problem(number, today=TODAY) is None


def test_x_check_digit_sample_really_ends_in_x():
    # Guard the parametrised samples above: at least one valid number needs the X digit.
    assert valid_id("33062419850315018").endswith("X")
    assert id_number_problem(valid_id("33062419850315018"), today=TODAY) is None


@pytest.mark.parametrize("first17", ["11010519491231002", "33062419700101001", "33062419850315018"])
def test_every_wrong_check_digit_is_rejected(first17):
    right = id_check_char(first17)
    for wrong in "0123456789X":
        if wrong == right:
            continue
        problem = id_number_problem(first17 + wrong, today=TODAY)
        assert problem is not None and "校验位" in problem


def test_single_mistyped_digit_is_caught_by_checksum():
    good = valid_id("33062419850315018")
    typo = good[:3] + str((int(good[3]) + 1) % 10) + good[4:]
    assert "校验位" in id_number_problem(typo, today=TODAY)


@pytest.mark.parametrize("birth", ["19990230", "19991301", "19990001", "19990132", "20230229"])
def test_impossible_birth_date_is_rejected(birth):
    number = valid_id(f"330624{birth}123")
    problem = id_number_problem(number, today=TODAY)
    assert problem == "身份证号中的出生日期不是有效日期。"


def test_birth_date_in_the_future_is_rejected():
    number = valid_id("330624" + "20260602" + "123")  # the day after TODAY
    assert id_number_problem(number, today=TODAY) == "身份证号中的出生日期不合理。"
    # ... and born today is fine
    assert id_number_problem(valid_id("330624" + "20260601" + "123"), today=TODAY) is None


def test_birth_before_1900_is_rejected():
    number = valid_id("330624" + "18991231" + "123")
    assert id_number_problem(number, today=TODAY) == "身份证号中的出生日期不合理。"


@pytest.mark.parametrize(
    "number",
    [
        "",
        "33062419850315018",  # 17 digits
        "33062419850315018XX",  # 19
        "330624850315018",  # old 15-digit number
        "3306241985031501AX",  # letter inside
        "X30624198503150181",  # X not at the end
        "33062419850315018Y",
    ],
)
def test_malformed_id_number_gets_format_message(number):
    assert id_number_problem(number, today=TODAY) == (
        "身份证号应为18位，前17位为数字，最后一位为数字或X。"
    )


def test_birth_year_is_read_from_id_number():
    assert birth_year_from_id(" 33062419850315018X") == 1985


# --------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "phone",
    [
        "13812345678",
        "19912345678",
        "15057512345",
        "138 1234 5678",
        " 13812345678 ",
        "0575-86012345",
        "057586012345",
        "010-12345678",
        "0575-8601234",  # 7-digit local number
    ],
)
def test_good_phone_numbers_pass(phone):
    assert phone_problem(phone) is None


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "12812345678",  # mobile numbers start 13–19
        "10812345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "86012345",  # landline without area code
        "575-86012345",  # area code must start with 0
        "0575-860123",  # local part too short
        "0575-860123456",  # local part too long
        "1381234567a",
        "+8613812345678",
    ],
)
def test_bad_phone_numbers_are_explained(phone):
    problem = phone_problem(phone)
    assert problem is not None
    assert "手机号为11位" in problem and "0575-86012345" in problem


# --------------------------------------------------------------------- birth year


def test_birth_year_bounds_are_16_to_90_years_before_this_year():
    assert birth_year_problem(None, today=TODAY) is None
    assert birth_year_problem(2026 - 16, today=TODAY) is None
    assert birth_year_problem(2026 - 90, today=TODAY) is None
    assert birth_year_problem(1980, today=TODAY) is None
    too_young = birth_year_problem(2026 - 15, today=TODAY)
    too_old = birth_year_problem(2026 - 91, today=TODAY)
    assert too_young == too_old == "出生年份应在 1936 到 2010 之间。"


def test_birth_year_bounds_move_with_the_calendar():
    assert birth_year_problem(2010, today=date(2027, 1, 1)) is None
    assert birth_year_problem(1936, today=date(2027, 1, 1)) is not None


# --------------------------------------------------------------------- posting dates


def test_departure_before_joining_is_rejected_naming_the_join_date():
    problem = departure_problem(date(2024, 1, 10), date(2024, 1, 9), today=TODAY)
    assert problem == "离岗日期不能早于到岗日期（2024-01-10）。"


def test_departure_in_the_future_is_rejected():
    problem = departure_problem(date(2024, 1, 10), date(2026, 6, 2), today=TODAY)
    assert problem is not None and "不能晚于今天" in problem


@pytest.mark.parametrize(
    ("joined", "left"),
    [
        (date(2024, 1, 10), date(2024, 1, 10)),  # left on the day they joined
        (date(2024, 1, 10), TODAY),  # leaves today
        (date(2020, 3, 1), date(2025, 12, 31)),
    ],
)
def test_reasonable_departures_pass(joined, left):
    assert departure_problem(joined, left, today=TODAY) is None


def test_joining_in_the_future_is_rejected():
    assert joining_problem(date(2026, 6, 2), TODAY, None) == "到岗日期不能晚于今天。"


def test_rejoining_before_last_departure_is_rejected():
    problem = joining_problem(date(2025, 3, 1), TODAY, last_left_on=date(2025, 3, 2))
    assert problem == "到岗日期不能早于上一次离岗日期（2025-03-02）。"


@pytest.mark.parametrize(
    ("joined", "last_left"),
    [
        (TODAY, None),
        (date(2020, 1, 1), None),
        (date(2025, 3, 2), date(2025, 3, 2)),  # rejoins the day they left
        (date(2025, 4, 1), date(2025, 3, 2)),
    ],
)
def test_reasonable_joining_passes(joined, last_left):
    assert joining_problem(joined, TODAY, last_left) is None


# --------------------------------------------------------------------- passwords


def test_good_password_has_no_problems():
    assert password_problems("village2026", username="zhangsan") == []


def test_short_password_is_rejected():
    assert password_problems("ab12cd3") == ["密码至少需要 8 位。"]
    assert password_problems("ab12cd34") == []


@pytest.mark.parametrize("password", ["12345678", "abcdefgh", "密码密码密码密码"])
def test_password_needs_letters_and_digits(password):
    assert password_problems(password) == ["密码需同时包含字母和数字。"]


def test_password_equal_to_username_is_rejected_ignoring_case():
    assert password_problems("Agent2026", username="agent2026") == ["密码不能与用户名相同。"]


def test_all_password_problems_are_reported_together():
    assert password_problems("123", username="123") == [
        "密码至少需要 8 位。",
        "密码需同时包含字母和数字。",
        "密码不能与用户名相同。",
    ]


def test_full_width_digits_are_normalised_not_smuggled_in():
    from academy.roster.rules import id_check_char, id_number_problem, normalise_id_number

    first17 = "33062419800101123"
    ascii_id = first17 + id_check_char(first17)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in ascii_id)
    assert normalise_id_number(full_width) == ascii_id
    assert id_number_problem(full_width) is None
    assert phone_problem("１３８００００１１１１") is None
    assert phone_problem("١٣٨٠٠٠٠١١١١") is not None  # Arabic-Indic digits are not a phone number
