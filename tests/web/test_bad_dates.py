"""Dates before 0001-01-01 08:00 Beijing time, and absurd years, in every date field of
every form (and the activity log's date filters): a form error, never a 500."""

from __future__ import annotations

import pytest

from academy.forms import YEAR_MESSAGE
from tests.web.test_exam_admin import bank, exam  # noqa: F401 (fixtures)

BAD_DAYS = ["0001-01-01", "1899-12-31", "9999-12-31", "2101-01-01"]
BAD_TIMES = ["0001-01-01T07:59", "0001-01-01T00:00", "9999-12-31T23:59"]


def _refused(resp) -> None:
    assert resp.status_code < 500
    assert YEAR_MESSAGE in resp.get_data(as_text=True)


@pytest.mark.parametrize("when", BAD_TIMES)
def test_exam_settings_and_overrides(world, login_as, exam, when):  # noqa: F811
    client = login_as(world.admin)
    for field in ("opens_at", "closes_at"):
        _refused(
            client.post(
                f"/manage/exams/{exam.id}/edit", data={"title": "养老保险业务考试", field: when}
            )
        )
        _refused(
            client.post(
                f"/manage/exams/{exam.id}/overrides",
                data={"subject": "agent", "agent_id": str(world.east_agent.id), field: when},
            )
        )


@pytest.mark.parametrize("day", BAD_DAYS)
def test_roster_dates(world, login_as, day):
    client = login_as(world.admin)
    agent = world.east_agent.id
    _refused(client.post("/roster/new", data={"name": "新人", "joined_on": day}))
    _refused(client.post(f"/roster/{agent}/depart", data={"left_on": day}))
    _refused(client.post(f"/roster/{agent}/transfer", data={"on": day}))


@pytest.mark.parametrize("day", BAD_DAYS)
def test_certificate_dates(world, login_as, day):
    client = login_as(world.admin)
    _refused(
        client.post(
            "/certificates/issue", data={"agent_id": str(world.east_agent.id), "issued_on": day}
        )
    )
    _refused(client.get(f"/certificates/archive?township_id={world.east.id}&issued_from={day}"))


@pytest.mark.parametrize("day", BAD_DAYS)
def test_activity_date_filters(world, login_as, day):
    client = login_as(world.admin)
    for path in ("/activity/", "/activity/export.xlsx", "/activity/export.jsonl"):
        resp = client.get(f"{path}?date_from={day}&date_to=2026-03-01")
        assert resp.status_code == 400, (path, resp.status_code)
        resp = client.get(f"{path}?date_from=2026-03-01&date_to={day}")
        assert resp.status_code == 400
