"""Lost updates: two staff open the same edit form; the first saves, the second's save is
refused (409) with what the first changed, the second's input kept, nothing overwritten;
saving again from that page (it carries the new version) goes through."""

from __future__ import annotations

import re

import sqlalchemy as sa

from academy.exams.models import Exam
from academy.extensions import db
from academy.learning.models import Module
from academy.questions import services as question_services
from academy.regions.models import Village
from academy.roster.models import Agent
from tests import factories
from tests.web.test_exam_admin import SETTINGS, bank, exam  # noqa: F401 (fixtures)
from tests.web.test_question_pages import form, rows

TOKEN = re.compile(r'name="edit_token" value="([^"]*)"')


def _token(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return TOKEN.search(html).group(1)


def _race(app, login_as, user, url: str, mine: dict, theirs: dict) -> str:
    """Both open ``url``; the other saves ``theirs``; we save ``mine``: our 409 page."""
    me = login_as(user)
    token = _token(me, url)
    other = app.test_client()
    with other.session_transaction() as s:
        s["_user_id"], s["_fresh"] = user.get_id(), True
    first = other.post(url, data={**theirs, "edit_token": token})
    assert first.status_code == 302, first.get_data(as_text=True)[-3000:]
    resp = me.post(url, data={**mine, "edit_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409, html[-1500:]
    assert "没有保存：在您编辑期间，其他人保存了" in html and "没有丢失" in html
    # Saving again from the conflict page is a deliberate overwrite.
    again = me.post(url, data={**mine, "edit_token": TOKEN.search(html).group(1)})
    assert again.status_code == 302, again.get_data(as_text=True)[-1500:]
    return html


def test_roster_record(app, world, login_as):
    agent = world.east_agent
    url = f"/roster/{agent.id}/edit"
    base = {"name": agent.name, "phone": agent.phone, "gender": "", "education": ""}
    html = _race(
        app,
        login_as,
        world.admin,
        url,
        {**base, "name": "张东（我改）"},
        {**base, "name": "张东（他改）"},
    )
    assert "张东（他改）" in html and 'value="张东（我改）"' in html  # theirs shown, mine kept
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).name == "张东（我改）"  # after the deliberate save


def test_village(app, world, login_as):
    v = world.east_village
    url = f"/villages/{v.id}/edit"
    base = {
        "township_id": str(v.township_id),
        "name": v.name,
        "kind": v.kind.value,
        "tier": v.tier.value,
        "area": "",
        "items": [str(world.item.id)],
    }
    html = _race(app, login_as, world.admin, url, {**base, "area": "山区"}, {**base, "items": []})
    assert "现在保存的" in html and world.item.name in html  # their change: items removed
    db.session.expire_all()
    assert db.session.get(Village, v.id).area == "山区"


def test_exam_settings(app, world, login_as, exam):  # noqa: F811
    url = f"/manage/exams/{exam.id}/edit"
    base = {**SETTINGS, "title": exam.title}
    html = _race(
        app,
        login_as,
        world.admin,
        url,
        {**base, "pass_percent": "80"},
        {**base, "title": "改名后的考试"},
    )
    assert "改名后的考试" in html and "考试名称" in html
    db.session.expire_all()
    assert db.session.get(Exam, exam.id).pass_percent == 80.0


def test_module_yaml(app, world, login_as, module):
    url = f"/learn/{module.slug}/edit"
    source = module.source
    theirs = source.replace(module.title, module.title + "（他改）", 1)
    mine = source.replace(module.title, module.title + "（我改）", 1)
    html = _race(
        app,
        login_as,
        world.expert,
        url,
        {"source": mine, "action": "save"},
        {"source": theirs, "action": "save"},
    )
    assert "他人的改动" in html and "现在保存的版本" in html
    assert re.search(r"^\+.*（他改）", html, re.M)  # their line, as a diff
    assert "（我改）" in html  # our text is still in the editor
    db.session.expire_all()
    assert "（我改）" in db.session.get(Module, module.id).title


def test_question(app, world, login_as):
    b = factories.web_bank()
    question = factories.web_question(b, "multichoice", world.item)
    db.session.commit()
    spec = question_services.spec_of(question)
    base = form(
        world,
        b,
        name=spec.name,
        text=spec.text,
        general_feedback=spec.general_feedback,
        single="single",
        **rows(
            "answers",
            *[
                {"text": a.text, "fraction": f"{a.fraction * 100:g}", "feedback": a.feedback}
                for a in spec.answers
            ],
        ),
    )
    html = _race(
        app,
        login_as,
        world.expert,
        f"/questions/{question.id}/edit",
        {**base, "text": "我改的题干"},
        {**base, "text": "他改的题干"},
    )
    assert "题干" in html and "他改的题干" in html and "我改的题干" in html
    db.session.expire_all()
    assert question.current_version == 3


def test_a_form_without_a_token_is_not_checked(world, login_as):
    agent = world.east_agent
    client = login_as(world.admin)
    resp = client.post(
        f"/roster/{agent.id}/edit",
        data={"name": "无令牌", "phone": agent.phone, "gender": "", "education": ""},
    )
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(Agent.name).where(Agent.id == agent.id)) == "无令牌"
