"""An agent plays a simulation case on a 360 px phone in a real browser, to the debrief:
large buttons, a reload mid-case and a lost connection resume at the same step."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from academy.extensions import db
from academy.simulations import rules, services
from academy.simulations.models import SimRun
from tests.e2e.test_journeys import _login
from tests.e2e.waits import shown
from tests.simcases import load_case, sample_case

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def case_slug(live_server):
    with live_server["app"].app_context():
        case = load_case(sample_case(live_server["ids"]["module"], slug="e2e-pension"))
        return case.slug


def _run(live_server) -> tuple[int, int, dict]:
    with live_server["app"].app_context():
        run = db.session.scalar(sa.select(SimRun).order_by(SimRun.id.desc()))
        return run.id, run.seed, run.version.document


def _seq(live_server, run_id: int) -> int:
    with live_server["app"].app_context():
        return db.session.get(SimRun, run_id).seq


def _scene(phone) -> tuple[str, str]:
    scene = phone.locator("#scene")
    return scene.get_attribute("data-step"), scene.get_attribute("data-kind")


def _take(phone, step: dict, response) -> None:
    kind = step["kind"]
    if kind in ("dialogue", "complication"):
        phone.click("#scene button:has-text('继续')")
    elif kind == "choice":
        phone.click(f"#scene button[name=option][value={response}]")
    elif kind in ("materials", "channel"):
        for oid in response:
            phone.check(f"#scene input[name=option][value={oid}]")
        phone.click("#scene button:has-text('确定')")
    elif kind == "form":
        for f in step["fields"]:
            value = str(f.get("expected") or "")
            if not value:
                continue
            if f["type"] == "choice":
                phone.select_option(f"#f_{f['id']}", value)
            else:
                phone.fill(f"#f_{f['id']}", value)
        phone.click("#scene button[type=submit]")
    elif kind == "free_text":
        phone.fill("#reply", step["model_answer"])
        phone.click("#scene button:has-text('就这么说')")


def test_agent_plays_a_case_to_the_debrief_on_a_phone(live_server, phone, case_slug):
    base = live_server["url"]
    _login(phone, base, "agent-t")
    phone.click("main a:has-text('情景模拟')")
    phone.wait_for_url("**/simulations/")
    phone.click("#case-e2e-pension button:has-text('开始')")
    phone.wait_for_url("**/simulations/runs/*")
    assert shown(phone, "svg.avatar")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the player scrolls sideways by {overflow}px"

    run_id, seed, doc = _run(live_server)
    case = rules.Case(doc)
    best = {p.step_id: p.response for p in rules.extreme_path(case, seed)}
    reloaded = offline_tried = False
    for _ in range(30):
        if "/debrief" in phone.url:
            break
        sid, kind = _scene(phone)
        step = case.step(sid)
        if kind == "choice":
            height = phone.locator("#scene button[name=option]").first.bounding_box()["height"]
            assert height >= 48, "choices are large buttons"
        if sid == "materials" and not reloaded:
            phone.reload()  # a reload mid-case: the same step again, nothing lost
            assert _scene(phone)[0] == "materials"
            reloaded = True
        if sid == "amount_question" and not offline_tried:
            seq_before = _seq(live_server, run_id)
            phone.context.set_offline(True)
            phone.click(f"#scene button[value={best[sid]}]", no_wait_after=True)
            phone.wait_for_timeout(800)
            phone.context.set_offline(False)
            assert _seq(live_server, run_id) == seq_before  # the tap never reached the server
            phone.goto(f"{base}/simulations/runs/{run_id}")
            assert _scene(phone)[0] == "amount_question"  # resumes where it was
            offline_tried = True
        _take(phone, step, best.get(sid))
        phone.wait_for_load_state()
    assert reloaded and offline_tried
    phone.wait_for_url("**/debrief")
    assert shown(phone, "text=结局：一次办结")
    assert shown(phone, "#dimension-scores")
    assert shown(phone, "text=要一次性告知村民的事")
    assert shown(phone, "text=还有 1 条答复待专家评分")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the debrief scrolls sideways by {overflow}px"
    with live_server["app"].app_context():
        run = db.session.get(SimRun, run_id)
        assert run.outcome == "solved" and services.run_score(run).auto_total == 100
