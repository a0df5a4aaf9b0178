"""Excel formula injection: a name that starts like a formula is written as text — with
Excel's quote prefix, so it stays text even when the cell is edited — in every export."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest

from academy.activity import rules
from academy.activity.models import ObjectType, Verb
from academy.activity.services import record_event
from academy.extensions import db
from academy.xlsx import csv_cell, formula_like, write_xlsx
from tests.web.test_certificate_downloads import certs  # noqa: F401 (fixture)
from tests.web.test_exam_admin import bank, exam, sit  # noqa: F401 (fixtures)

EVIL = '=HYPERLINK("http://x.cn","点我")'


def _evil_cells(data: bytes, needle: str) -> list:
    book = openpyxl.load_workbook(io.BytesIO(data))
    found = [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and needle in cell.value
    ]
    assert found, f"{needle!r} not in the workbook"
    return found


def _assert_text(data: bytes, needle: str = EVIL) -> None:
    for cell in _evil_cells(data, needle):
        assert cell.data_type == "s" and cell.value.startswith(needle[:1])
        assert cell.quotePrefix, f"{cell.coordinate} would turn into a formula when edited"


@pytest.fixture
def evil(world):
    world.east_agent.name = EVIL
    world.east.name = "+东镇"
    db.session.commit()
    return world


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_the_rule_covers_every_formula_start(start):
    text = f"{start}1+2"
    assert formula_like(text) and csv_cell(text) == "'" + text
    data = write_xlsx(["名称"], [[text], ["普通"]])
    book = openpyxl.load_workbook(io.BytesIO(data))
    cell = book.active["A2"]
    value = cell.value
    assert cell.data_type == "s" and value == text and cell.quotePrefix
    assert not book.active["A3"].quotePrefix


def test_roster_export(evil, login_as):
    resp = login_as(evil.admin).get("/roster/export.xlsx")
    assert resp.status_code == 200
    _assert_text(resp.data)
    _assert_text(resp.data, "+东镇")


def test_event_export(evil, login_as):
    at = rules.day_moment(date.today())
    record_event(Verb.OPENED, ObjectType.MODULE, 1, "-模块", agent=evil.east_agent, at=at)
    db.session.commit()
    resp = login_as(evil.admin).get("/activity/export.xlsx")
    assert resp.status_code == 200
    _assert_text(resp.data)
    _assert_text(resp.data, "-模块")


def test_dashboard_export(evil, login_as):
    resp = login_as(evil.admin).get("/dashboard/export/coverage.xlsx")
    assert resp.status_code == 200
    _assert_text(resp.data, "+东镇")


def test_exam_results_export(evil, login_as, exam):  # noqa: F811
    sit(exam, evil.east_agent)
    db.session.commit()
    resp = login_as(evil.admin).get(f"/manage/exams/{exam.id}/results.xlsx")
    assert resp.status_code == 200
    _assert_text(resp.data)


def test_certificate_zip_index(evil, certs, login_as):  # noqa: F811
    resp = login_as(evil.east_head).post("/certificates/archive", data={})
    assert resp.status_code == 200
    data = resp.data
    resp.close()
    _assert_text(zipfile.ZipFile(io.BytesIO(data)).read("index.xlsx"))
