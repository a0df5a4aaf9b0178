"""Reading an uploaded roster workbook: every bad cell reported by row, column and reason."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from academy.roster import excel
from academy.roster.excel import COLUMNS, RosterFileError, RowProblem, RowSpec, read_roster
from academy.roster.models import AgentKind, Education, Gender, LeaveReason
from academy.roster.rules import id_check_char

TODAY = date(2026, 6, 1)


def valid_id(birth: str = "19800101", seq: str = "123") -> str:
    first17 = f"330624{birth}{seq}"
    return first17 + id_check_char(first17)


ID_MALE = valid_id("19800101", "123")  # 17th digit 3: male
ID_FEMALE = valid_id("19850505", "224")


def row(**over) -> list:
    values = {
        "镇街": "澄潭街道",
        "村社": "梅渚村",
        "姓名": "王小红",
        "联系电话": "13900001111",
        "身份证号": "",
        "出生年份": "",
        "性别": "",
        "文化程度": "",
        "身份": "专职代办员",
        "到岗日期": "2026-03-01",
        "离岗日期": "",
        "离岗原因": "",
    }
    values.update(over)
    return [values[c] for c in COLUMNS]


def workbook(rows: list[list], header: list | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append(list(header or COLUMNS))
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems_of(data: bytes) -> list[RowProblem]:
    return read_roster(data, TODAY).problems


def reasons(data: bytes) -> dict[tuple[int, str], str]:
    return {(p.row, p.column): p.reason for p in problems_of(data)}


# --------------------------------------------------------------------- good files


def test_good_file_gives_normalised_specs():
    data = workbook(
        [
            row(
                身份证号=ID_MALE.lower()[:-1] + ID_MALE[-1].lower(),
                出生年份="1980",
                性别="男",
                文化程度="高中/中专",
                身份="兜底代办员",
            ),
            row(
                姓名=" 李 四 ",
                联系电话="０５７５-８６０１２３４５",
                身份="志愿者",
                文化程度="本科",
                到岗日期="2025/3/1",
                离岗日期="2026年5月2日",
                离岗原因="辞职",
            ),
        ]
    )
    parsed = read_roster(data, TODAY)
    assert parsed.problems == []
    assert parsed.rows == 2
    first, second = parsed.specs
    assert first == RowSpec(
        row=2,
        township="澄潭街道",
        village="梅渚村",
        name="王小红",
        phone="13900001111",
        kind=AgentKind.FALLBACK,
        joined_on=date(2026, 3, 1),
        id_number=ID_MALE,
        birth_year=1980,
        gender=Gender.MALE,
        education=Education.SENIOR,
    )
    assert first.open
    assert second.row == 3 and second.name == "李 四"
    assert second.phone == "0575-86012345"  # full-width digits, leading zero kept
    assert second.education == Education.BACHELOR
    assert (second.joined_on, second.left_on) == (date(2025, 3, 1), date(2026, 5, 2))
    assert second.leave_reason == LeaveReason.RESIGNED and not second.open


def test_excel_date_and_number_cells_are_read_as_text_without_losing_digits():
    data = workbook(
        [
            row(
                联系电话=13900001111,  # a number cell
                身份证号=ID_FEMALE,  # a text cell of 18 digits
                出生年份=1985,
                到岗日期=datetime(2026, 3, 1),
                离岗日期=date(2026, 4, 30),
                离岗原因="退休",
            ),
            row(姓名="赵六", 联系电话="0575-86011111", 到岗日期="20260102"),
        ]
    )
    parsed = read_roster(data, TODAY)
    assert parsed.problems == []
    spec, landline = parsed.specs
    assert spec.phone == "13900001111"
    assert spec.id_number == ID_FEMALE and spec.birth_year == 1985
    assert spec.joined_on == date(2026, 3, 1) and spec.left_on == date(2026, 4, 30)
    assert landline.phone == "0575-86011111" and landline.joined_on == date(2026, 1, 2)


def test_pandas_written_file_is_read_too():
    frame = pd.DataFrame([row(到岗日期=date(2026, 2, 3))], columns=list(COLUMNS))
    out = io.BytesIO()
    frame.to_excel(out, index=False, sheet_name="花名册")
    parsed = read_roster(out.getvalue(), TODAY)
    assert parsed.problems == []
    assert parsed.specs[0].joined_on == date(2026, 2, 3)


def test_blank_rows_are_skipped_and_row_numbers_stay_as_excel_shows_them():
    data = workbook([row(), [None] * 12, [""] * 12, row(姓名="", 联系电话="13900002222")])
    assert problems_of(data) == [RowProblem(5, "姓名", "请填写姓名。")]


def test_headers_may_carry_notes_aliases_and_any_order():
    header = [
        "姓名",
        "手机号",
        "镇街",
        "村（社区）",
        "身份（专职代办员/兜底代办员/志愿者）",
        "到岗日期*",
    ]
    data = workbook([["王五", "13900003333", "澄潭街道", "梅渚村", "专职", "2026-01-05"]], header)
    parsed = read_roster(data, TODAY)
    assert parsed.problems == []
    assert parsed.specs[0].kind == AgentKind.FULL_TIME
    assert parsed.specs[0].village == "梅渚村"


# --------------------------------------------------------------------- bad cells


def test_every_bad_cell_is_reported_with_row_column_and_reason():
    bad_checksum = ID_MALE[:-1] + ("0" if ID_MALE[-1] != "0" else "1")
    data = workbook(
        [
            row(
                镇街="",
                村社="村" * 41,
                姓名="",
                联系电话="12345",
                身份证号=bad_checksum,
                出生年份="八零年",
                性别="未知",
                文化程度="幼儿园",
                身份="村干部",
                到岗日期="2026-02-30",
                离岗原因="辞职",
            ),
            row(联系电话="", 身份="", 到岗日期="", 出生年份="1900", 离岗日期="2026-01-01"),
            row(
                身份证号=ID_MALE,
                出生年份="1981",
                性别="女",
                到岗日期="2026-07-01",
                离岗日期="2026-06-30",
            ),
            row(到岗日期="2026-05-01", 离岗日期="2026-04-01", 离岗原因="其他"),
            row(身份证号=3.30624198001011e17),  # Excel has turned the ID into a number
        ]
    )
    got = reasons(data)
    assert got[(2, "镇街")] == "请填写镇街。"
    assert "不能超过 40 个字" in got[(2, "村社")]
    assert got[(2, "姓名")] == "请填写姓名。"
    assert "电话号码格式不正确" in got[(2, "联系电话")] and "12345" in got[(2, "联系电话")]
    assert "校验位不正确" in got[(2, "身份证号")]
    assert "不是四位数的年份" in got[(2, "出生年份")]
    assert "不是有效的性别" in got[(2, "性别")] and "男、女" in got[(2, "性别")]
    assert "不是有效的文化程度" in got[(2, "文化程度")]
    assert "专职代办员、兜底代办员、志愿者" in got[(2, "身份")]
    assert "不是有效日期" in got[(2, "到岗日期")]
    assert got[(2, "离岗日期")] == "填写了离岗原因，请同时填写离岗日期。"
    assert got[(3, "联系电话")] == "请填写联系电话。"
    assert got[(3, "身份")] == "请填写身份。"
    assert "请填写到岗日期" in got[(3, "到岗日期")]
    assert "出生年份应在" in got[(3, "出生年份")]
    assert got[(3, "离岗原因")] == "填写了离岗日期，请同时填写离岗原因。"
    assert "与身份证号中的出生年份（1980）不一致" in got[(4, "出生年份")]
    assert "性别与身份证号不一致" in got[(4, "性别")]
    assert got[(4, "到岗日期")] == "到岗日期不能晚于今天。"
    assert "离岗日期不能早于到岗日期" in got[(5, "离岗日期")]
    assert "存成了数字" in got[(6, "身份证号")]
    assert read_roster(data, TODAY).specs == []  # no row with a problem is kept


def test_problems_are_sorted_by_row_then_template_column():
    data = workbook([row(到岗日期="x", 姓名=""), row(联系电话="1")])
    assert [(p.row, p.column) for p in problems_of(data)] == [
        (2, "姓名"),
        (2, "到岗日期"),
        (3, "联系电话"),
    ]


def test_leave_dates_must_not_be_in_the_future():
    data = workbook([row(到岗日期="2026-01-01", 离岗日期="2026-06-02", 离岗原因="辞职")])
    assert "不能晚于今天" in reasons(data)[(2, "离岗日期")]


# --------------------------------------------------------------------- duplicates


def test_same_id_number_twice_names_both_rows():
    data = workbook([row(身份证号=ID_MALE), row(姓名="张三"), row(姓名="别人", 身份证号=ID_MALE)])
    got = reasons(data)
    assert got == {(4, "身份证号"): got[(4, "身份证号")]}
    assert "与第 2 行是同一人（身份证号相同）" in got[(4, "身份证号")]


def test_same_name_and_phone_twice_is_a_duplicate():
    data = workbook([row(), row(村社="另一村")])
    assert "与第 2 行是同一人（姓名和联系电话相同）" in reasons(data)[(3, "姓名")]


def test_history_rows_of_the_same_person_are_allowed_but_not_repeated():
    closed = row(到岗日期="2024-01-01", 离岗日期="2025-01-01", 离岗原因="其他")
    data = workbook(
        [
            row(),
            closed,
            row(村社="别村", 到岗日期="2023-01-01", 离岗日期="2023-06-01", 离岗原因="辞职"),
        ]
    )
    assert problems_of(data) == []
    repeated = workbook([row(), closed, closed])
    assert "与第 3 行重复" in reasons(repeated)[(4, "姓名")]


# --------------------------------------------------------------------- whole files


def test_missing_and_unknown_headers_are_named():
    header = ["镇街", "村社", "姓名", "身份证", "备注", "到岗日期"]
    with pytest.raises(RosterFileError) as err:
        read_roster(workbook([["a"] * 6], header), TODAY)
    message = err.value.message
    assert "缺少列：联系电话、身份" in message
    assert "无法识别的列：“备注”" in message
    assert "第 1 行的表头" in message


def test_repeated_header_is_refused():
    with pytest.raises(RosterFileError, match="重复的列：姓名"):
        read_roster(workbook([], [*COLUMNS, "姓名"]), TODAY)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "不是 Excel 工作簿"),
        ("镇街,村社\n澄潭街道,梅渚村\n".encode(), "不是 Excel 工作簿"),
        (b"PK\x03\x04broken", "已损坏"),
    ],
)
def test_not_an_xlsx_is_refused_with_a_clear_message(data, expected):
    with pytest.raises(RosterFileError) as err:
        read_roster(data, TODAY)
    assert expected in err.value.message
    assert "请上传用本页模板填写的 .xlsx 文件" in err.value.message


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(RosterFileError, match="缺少工作表内容"):
        read_roster(out.getvalue(), TODAY)


def test_empty_and_header_only_files_are_refused():
    book = openpyxl.Workbook()
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(RosterFileError, match="文件是空的"):
        read_roster(out.getvalue(), TODAY)
    with pytest.raises(RosterFileError, match="只有表头"):
        read_roster(workbook([]), TODAY)


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    data = workbook([row(姓名=f"人{i}", 联系电话=f"139000000{i:02d}") for i in range(4)])
    with pytest.raises(RosterFileError, match="超过 3 行"):
        read_roster(data, TODAY)
    assert len(read_roster(workbook([row()] * 3), TODAY).specs) == 1  # 3 rows are fine


# --------------------------------------------------------------------- template and export


def test_template_has_the_headers_and_reads_as_header_only():
    data = excel.template_workbook([("澄潭街道", "梅渚村"), ("澄潭街道", "东门村")])
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["花名册", "村社名单", "填写说明"]
    sheet = book["花名册"]
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    # whole columns formatted as text, so that new cells keep leading zeros
    assert sheet.column_dimensions["D"].number_format == "@"
    assert sheet.column_dimensions["E"].number_format == "@"
    assert book["村社名单"]["B3"].value == "东门村"
    with pytest.raises(RosterFileError, match="只有表头"):
        read_roster(data, TODAY)


def test_export_reads_back_as_the_same_rows():
    specs = [
        RowSpec(
            row=0,
            township="澄潭街道",
            village="梅渚村",
            name="王小红",
            phone="0575-86012345",
            kind=AgentKind.FULL_TIME,
            joined_on=date(2020, 1, 2),
            id_number=valid_id("19700707", "104"),
            birth_year=1970,
            gender=Gender.FEMALE,
            education=Education.JUNIOR,
        ),
        RowSpec(
            row=0,
            township="澄潭街道",
            village="东门村",
            name="李四",
            phone="13900001111",
            kind=AgentKind.VOLUNTEER,
            joined_on=date(2019, 5, 6),
            left_on=date(2021, 7, 8),
            leave_reason=LeaveReason.TRANSFERRED,
        ),
    ]
    parsed = read_roster(excel.export_workbook(specs), TODAY)
    assert parsed.problems == []
    assert [RowSpec(**{**_fields(s), "row": 0}) for s in parsed.specs] == specs
    sheet = openpyxl.load_workbook(io.BytesIO(excel.export_workbook(specs)))["花名册"]
    assert sheet["J2"].value == datetime(2020, 1, 2)  # a real date cell for Excel users


def _fields(spec: RowSpec) -> dict:
    return {name: getattr(spec, name) for name in RowSpec.__slots__}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026.3.1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("2026-03-01 00:00:00", date(2026, 3, 1)),
        ("20260301", date(2026, 3, 1)),
        ("2026-02-30", None),
        ("3/1/2026", None),
        ("46082", None),
    ],
)
def test_parse_date(text, expected):
    assert excel.parse_date(text) == expected
