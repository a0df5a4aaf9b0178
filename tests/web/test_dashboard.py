"""Dashboards, charts and Excel exports: scoped, with the right content types."""

import io
from datetime import date

import openpyxl
import pytest

from academy.catalogue.models import ItemCategory
from academy.certification import services
from academy.certification.models import CertSource
from academy.extensions import db


@pytest.fixture
def certified(world):
    services.ensure_default_schemes()
    scheme = next(s for s in services.active_schemes() if s.category == ItemCategory.REGISTRATION)
    services.issue_certificate(
        world.west_agent, scheme, date.today(), CertSource.MANUAL, world.admin
    )
    db.session.commit()


def test_head_sees_own_township_matrix_and_gaps(world, certified, login_as):
    html = login_as(world.east_head).get("/dashboard/").get_data(as_text=True)
    assert "东镇" in html and "东一村" in html and "西一村" not in html
    assert "从未覆盖" in html and "张东" in html  # nearest agent to close the gap
    # A head cannot look at another township by changing the URL.
    other = (
        login_as(world.east_head)
        .get(f"/dashboard/?township_id={world.west.id}")
        .get_data(as_text=True)
    )
    assert "西一村" not in other


def test_admin_county_ranking_and_township_drilldown(world, certified, login_as):
    client = login_as(world.admin)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert html.index("西镇") < html.index("东镇")  # ranked by coverage: west 100 %, east 0 %
    drill = client.get(f"/dashboard/?township_id={world.west.id}").get_data(as_text=True)
    assert "西一村" in drill and "已覆盖" in drill
    assert client.get("/dashboard/?township_id=abc").status_code == 404


@pytest.mark.parametrize(
    ("fmt", "mimetype", "magic"),
    [("svg", "image/svg+xml", b"<?xml"), ("png", "image/png", b"\x89PNG")],
)
@pytest.mark.parametrize("name", ["coverage-trend", "turnover", "training"])
def test_chart_endpoints_return_images(world, login_as, name, fmt, mimetype, magic):
    resp = login_as(world.east_head).get(f"/dashboard/charts/{name}.{fmt}")
    assert resp.status_code == 200 and resp.mimetype == mimetype
    assert resp.data.startswith(magic)
    if fmt == "svg":
        assert "东镇".encode() in resp.data  # Chinese label kept as text


def test_unknown_chart_or_table_is_404(world, login_as):
    client = login_as(world.admin)
    assert client.get("/dashboard/charts/nope.svg").status_code == 404
    assert client.get("/dashboard/charts/turnover.gif").status_code == 404
    assert client.get("/dashboard/export/nope.xlsx").status_code == 404
    assert client.get("/dashboard/export/matrix.xlsx").status_code == 404  # needs a township


@pytest.mark.parametrize(
    "table",
    [
        "coverage",
        "gaps",
        "expiring",
        "overdue",
        "turnover",
        "training",
        "trend",
        "alerts",
        "matrix",
    ],
)
def test_every_table_exports_to_excel_with_chinese_headers(world, certified, login_as, table):
    resp = login_as(world.east_head).get(f"/dashboard/export/{table}.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    headers = [c.value for c in sheet[1]]
    assert headers and all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in headers)
    if table == "gaps":
        assert [c.value for c in sheet[2]][:4] == ["东镇", "东一村", "登记申领", "从未覆盖"]


def test_agents_and_experts_cannot_see_dashboards(world, login_as):
    assert login_as(world.agent_user).get("/dashboard/").status_code == 403
    assert login_as(world.expert).get("/dashboard/export/coverage.xlsx").status_code == 403


def test_agent_sees_own_alerts_on_home(world, login_as):
    from datetime import timedelta

    from academy.certification.alerts import build_alerts
    from academy.certification.rules import add_months

    services.ensure_default_schemes()
    scheme = next(s for s in services.active_schemes() if s.category == ItemCategory.REGISTRATION)
    services.issue_certificate(
        world.east_agent,
        scheme,
        add_months(date.today(), -12) + timedelta(days=5),
        CertSource.MANUAL,
    )
    services.issue_certificate(
        world.west_agent,
        scheme,
        add_months(date.today(), -12) + timedelta(days=5),
        CertSource.MANUAL,
    )
    build_alerts()
    db.session.commit()
    html = login_as(world.agent_user).get("/home").get_data(as_text=True)
    # The expiry alert comes as the renewal card: what is due, by when, and the way in.
    assert "《登记申领类代办资格（初级）》即将到期，请复训续期" in html
    assert "李西" not in html
