"""Caps on imports, seen through the pages: questions per file, and messages that quote
at most a short excerpt of bad input."""

from __future__ import annotations

import io

import pytest

from academy.questions import services
from tests.web.test_question_pages import GIFT, expert, upload  # noqa: F401 (fixture)
from tests.web.test_roster_import import row, workbook


@pytest.fixture(autouse=True)
def _imports_in_tmp(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))


def test_questions_per_file_are_capped(world, expert, monkeypatch):  # noqa: F811
    monkeypatch.setattr(services, "MAX_IMPORT_QUESTIONS", 2)
    data = GIFT.replace("{item}", world.item.slug).encode()
    resp = upload(expert, data, "题库.gift", new_title="太多")
    assert resp.status_code == 422
    assert "一个文件最多导入 2 道题，这个文件有 3 道" in resp.get_data(as_text=True)


def test_a_roster_problem_quotes_only_an_excerpt(world, login_as):
    name = "王" * 20_000
    client = login_as(world.admin)
    resp = client.post(
        "/roster/import",
        data={"file": (io.BytesIO(workbook([row(姓名=name)])), "花名册.xlsx")},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "王" * 100 in html or "姓名" in html
    assert "王" * 1000 not in html and len(html) < 30_000
