"""Every route × every kind of visitor, against one declared table of expected outcomes.

Each rule of ``app.url_map`` (and each of its methods) is requested by seven visitors:

    anon   nobody logged in
    agent  the agent who owns the objects in the URL (张东, east township)
    other  another agent (李西, west township)
    expert a county expert
    head   the head of the objects' township (east)
    ohead  the head of another township (west)
    admin  a county admin

Object ids in URLs belong to the east township and its agent, so "other" and "ohead" ask for
somebody else's things. Outcomes: ``ok`` (the page works, whatever it then says), ``403``,
``404`` and ``login`` (sent to the login page). Anything else (a 500, a 405) fails too.

Adding a route: add one line to ``EXPECTED`` — ``"METHOD /rule": "anon agent other expert
head ohead admin"`` — and, if its URL has a new kind of argument, a value in ``_url_values``.
A route without a line fails ``test_every_route_has_a_row`` naming the line to add.

One world is built per module; each request runs in a SAVEPOINT rolled back afterwards, so
a POST that changes something does not change what the next visitor sees.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date

import pytest
import yaml
from sqlalchemy.orm import scoped_session, sessionmaker

from academy.extensions import db
from tests import factories

VISITORS = ("anon", "agent", "other", "expert", "head", "ohead", "admin")
OUTCOMES = {"ok", "403", "404", "login"}

EXPECTED: dict[str, str] = {
    # route                                          anon agent other expert head ohead admin
    "GET /": "login ok ok ok ok ok ok",
    "GET /account/password": "login ok ok ok ok ok ok",
    "GET /activity/": "login 403 403 403 ok 404 ok",
    "GET /activity/export.jsonl": "login 403 403 403 ok 404 ok",
    "GET /activity/export.xlsx": "login 403 403 403 ok 404 ok",
    "GET /admin/users": "login 403 403 403 403 403 ok",
    "GET /admin/users/<id:user_id>": "login 403 403 403 403 403 ok",
    "GET /admin/users/new": "login 403 403 403 403 403 ok",
    "GET /attempts/<id:attempt_id>": "login ok 404 403 403 403 403",
    "GET /attempts/<id:attempt_id>/result": "login ok 404 403 403 403 403",
    "GET /attempts/<id:attempt_id>/submit": "login ok 404 403 403 403 403",
    "GET /audit/": "login 403 403 403 ok ok ok",
    "GET /certificates/": "login ok ok 403 ok 404 ok",
    "GET /certificates/<id:cert_id>": "login ok 404 403 ok 404 ok",
    "GET /certificates/<id:cert_id>/document": "login ok 404 403 ok 404 ok",
    "GET /certificates/<id:cert_id>/print": "login ok 404 403 ok 404 ok",
    "GET /certificates/archive": "login 403 403 403 ok 404 ok",
    "GET /certificates/issue": "login 403 403 403 403 403 ok",
    "GET /dashboard/": "login 403 403 403 ok 404 ok",
    "GET /dashboard/charts/<name>.<fmt>": "login 403 403 403 ok 404 ok",
    "GET /dashboard/export/<table>.xlsx": "login 403 403 403 ok 404 ok",
    "GET /dashboard/tables/<name>": "login 403 403 403 ok 404 ok",
    "GET /exams/": "login ok ok 403 403 403 403",
    "GET /exams/<id:exam_id>": "login ok 404 403 403 403 403",
    "GET /handbook/mine": "login ok ok 403 403 403 403",
    "GET /handbook/townships/<id:township_id>": "login 403 403 403 ok 404 ok",
    "GET /handbook/villages/<id:village_id>": "login ok 404 ok ok 404 ok",
    "GET /home": "login ok ok ok ok ok ok",
    "GET /items/": "login ok ok ok ok ok ok",
    "GET /items/<slug>": "login ok ok ok ok ok ok",
    "GET /learn/": "login ok ok ok ok ok ok",
    "GET /learn/<slug>": "login ok ok ok ok ok ok",
    "GET /learn/<slug>/edit": "login 403 403 ok 403 403 ok",
    "GET /learn/<slug>/history": "login 403 403 ok 403 403 ok",
    "GET /favicon.ico": "ok ok ok ok ok ok ok",
    "GET /login": "ok ok ok ok ok ok ok",
    "GET /manage/exams/": "login 403 403 ok ok ok ok",
    "GET /manage/exams/<id:exam_id>": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/<id:exam_id>/edit": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/<id:exam_id>/overrides": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/<id:exam_id>/preview": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/<id:exam_id>/results": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/<id:exam_id>/results.xlsx": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/<id:exam_id>/sections/<id:section_id>": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/<id:exam_id>/sections/new": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/<id:exam_id>/statistics": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/<id:exam_id>/statistics.xlsx": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/attempts/<id:attempt_id>": "login 403 403 ok ok 404 ok",
    "GET /manage/exams/marking": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/marking/<id:answer_id>": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/new": "login 403 403 ok 403 403 ok",
    "GET /manage/exams/questions/<id:question_id>/stats": "login 403 403 ok ok ok ok",
    "GET /plans/": "login 403 403 403 ok ok ok",
    "GET /practice/": "login ok ok 403 403 403 403",
    "GET /practice/session": "login ok ok 403 403 403 403",
    "GET /practice/sessions/<id:session_id>/review/<id:question_id>": "login ok 404 403 403 403 403",  # noqa: E501
    "GET /practice/sessions/<id:session_id>/summary": "login ok 404 403 403 403 403",
    "GET /questions/": "login 403 403 ok 403 403 ok",
    "GET /questions/<id:question_id>": "login 403 403 ok 403 403 ok",
    "GET /questions/<id:question_id>/edit": "login 403 403 ok 403 403 ok",
    "GET /questions/<id:question_id>/versions": "login 403 403 ok 403 403 ok",
    "GET /questions/banks/": "login 403 403 ok 403 403 ok",
    "GET /questions/banks/new": "login 403 403 ok 403 403 ok",
    "GET /questions/export": "login 403 403 ok 403 403 ok",
    "GET /questions/import": "login 403 403 ok 403 403 ok",
    "GET /questions/import/template.xlsx": "login 403 403 ok 403 403 ok",
    "GET /questions/new": "login 403 403 ok 403 403 ok",
    "GET /questions/new/<qtype>": "login 403 403 ok 403 403 ok",
    "GET /roster/": "login 403 403 403 ok ok ok",
    "GET /roster/<id:agent_id>": "login 403 403 403 ok 404 ok",
    "GET /roster/<id:agent_id>/depart": "login 403 403 403 ok 404 ok",
    "GET /roster/<id:agent_id>/edit": "login 403 403 403 ok 404 ok",
    "GET /roster/<id:agent_id>/rejoin": "login 403 403 403 ok 404 ok",
    "GET /roster/<id:agent_id>/transfer": "login 403 403 403 ok 404 ok",
    "GET /roster/export.xlsx": "login 403 403 403 ok ok ok",
    "GET /roster/import": "login 403 403 403 ok ok ok",
    "GET /roster/import/template.xlsx": "login 403 403 403 ok ok ok",
    "GET /roster/new": "login 403 403 403 ok ok ok",
    "GET /static/<path:filename>": "ok ok ok ok ok ok ok",
    "GET /townships": "login 403 403 403 403 403 ok",
    "GET /townships/<id:township_id>": "login 403 403 403 403 403 ok",
    "GET /townships/new": "login 403 403 403 403 403 ok",
    "GET /verify": "ok ok ok ok ok ok ok",
    "GET /verify/<code>": "ok ok ok ok ok ok ok",
    "GET /villages": "login 403 403 403 ok ok ok",
    "GET /villages/<id:village_id>": "login 403 403 403 ok 404 ok",
    "GET /villages/<id:village_id>/edit": "login 403 403 403 403 403 ok",
    "GET /villages/new": "login 403 403 403 403 403 ok",
    "POST /account/password": "login ok ok ok ok ok ok",
    "POST /admin/users/<id:user_id>": "login 403 403 403 403 403 ok",
    "POST /admin/users/<id:user_id>/active": "login 403 403 403 403 403 ok",
    "POST /admin/users/<id:user_id>/password": "login 403 403 403 403 403 ok",
    "POST /admin/users/new": "login 403 403 403 403 403 ok",
    "POST /attempts/<id:attempt_id>/answers/<int:position>": "login ok 404 403 403 403 403",
    "POST /attempts/<id:attempt_id>/page": "login ok 404 403 403 403 403",
    "POST /attempts/<id:attempt_id>/submit": "login ok 404 403 403 403 403",
    "POST /certificates/<id:cert_id>/revoke": "login 403 403 403 403 403 ok",
    "POST /certificates/archive": "login 403 403 403 ok 404 ok",
    "POST /certificates/issue": "login 403 403 403 403 403 ok",
    "POST /exams/<id:exam_id>/start": "login ok 404 403 403 403 403",
    "POST /learn/<slug>/check": "login ok ok 403 403 403 403",
    "POST /learn/<slug>/edit": "login 403 403 ok 403 403 ok",
    "POST /learn/<slug>/practice/<part>": "login ok ok 403 403 403 403",
    "POST /learn/<slug>/revert/<int:version>": "login 403 403 ok 403 403 ok",
    "POST /login": "ok ok ok ok ok ok ok",
    "POST /logout": "login login login login login login login",
    "POST /manage/exams/<id:exam_id>/archive": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/duplicate": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/edit": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/overrides": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/overrides/<id:override_id>/delete": "login 403 403 ok 403 403 ok",  # noqa: E501
    "POST /manage/exams/<id:exam_id>/publish": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/restore": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/sections/<id:section_id>": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/sections/<id:section_id>/delete": "login 403 403 ok 403 403 ok",  # noqa: E501
    "POST /manage/exams/<id:exam_id>/sections/<id:section_id>/move": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/sections/new": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/<id:exam_id>/unpublish": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/attempts/<id:attempt_id>/reopen": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/marking/<id:answer_id>": "login 403 403 ok 403 403 ok",
    "POST /manage/exams/new": "login 403 403 ok 403 403 ok",
    "POST /practice/sessions/<id:session_id>/answer": "login ok 404 403 403 403 403",
    "POST /practice/start": "login ok ok 403 403 403 403",
    "POST /questions/<id:question_id>/copy": "login 403 403 ok 403 403 ok",
    "POST /questions/<id:question_id>/edit": "login 403 403 ok 403 403 ok",
    "POST /questions/<id:question_id>/restore": "login 403 403 ok 403 403 ok",
    "POST /questions/<id:question_id>/retire": "login 403 403 ok 403 403 ok",
    "POST /questions/banks/new": "login 403 403 ok 403 403 ok",
    "POST /questions/import": "login 403 403 ok 403 403 ok",
    "POST /questions/import/confirm": "login 403 403 ok 403 403 ok",
    "POST /questions/new/<qtype>": "login 403 403 ok 403 403 ok",
    "POST /roster/<id:agent_id>/depart": "login 403 403 403 ok 404 ok",
    "POST /roster/<id:agent_id>/edit": "login 403 403 403 ok 404 ok",
    "POST /roster/<id:agent_id>/rejoin": "login 403 403 403 ok 404 ok",
    "POST /roster/<id:agent_id>/transfer": "login 403 403 403 ok 404 ok",
    "POST /roster/import": "login 403 403 403 ok ok ok",
    "POST /roster/import/cancel": "login 403 403 403 ok ok ok",
    "POST /roster/import/confirm": "login 403 403 403 ok ok ok",
    "POST /roster/new": "login 403 403 403 ok ok ok",
    "POST /townships/<id:township_id>": "login 403 403 403 403 403 ok",
    "POST /townships/new": "login 403 403 403 403 403 ok",
    "POST /villages/<id:village_id>/edit": "login 403 403 403 403 403 ok",
    "POST /villages/new": "login 403 403 403 403 403 ok",
    # simulated cases (the east agent's run of the case whose slug is the item's)
    "GET /simulations/": "login ok ok ok ok ok ok",
    "GET /simulations/<slug>": "login 403 403 ok 403 403 ok",
    "GET /simulations/<slug>/edit": "login 403 403 ok 403 403 ok",
    "GET /simulations/<slug>/graph.svg": "login 403 403 ok 403 403 ok",
    "GET /simulations/booklet": "login ok ok ok ok ok ok",
    "GET /simulations/marking": "login 403 403 ok 403 403 ok",
    "GET /simulations/new": "login 403 403 ok 403 403 ok",
    "GET /simulations/results": "login 403 403 ok ok ok ok",
    "GET /simulations/runs/<id:run_id>": "login ok 404 404 404 404 404",
    "GET /simulations/runs/<id:run_id>/debrief": "login ok 404 404 404 404 404",
    "POST /simulations/<slug>/edit": "login 403 403 ok 403 403 ok",
    "POST /simulations/<slug>/preview": "login 403 403 ok 403 403 ok",
    "POST /simulations/<slug>/start": "login ok ok 403 403 403 403",
    "POST /simulations/<slug>/versions/<int:number>/retire": "login 403 403 ok 403 403 ok",
    "POST /simulations/marking/<id:row_id>": "login 403 403 ok 403 403 ok",
    "POST /simulations/new": "login 403 403 ok 403 403 ok",
    "POST /simulations/runs/<id:run_id>/step": "login ok 404 404 404 404 404",
    # the skills competition (the world's expert is its only judge and its chief judge)
    "GET /competitions/": "login ok ok ok ok ok ok",
    "GET /competitions/<id:comp_id>": "login ok ok ok ok ok ok",
    "GET /competitions/<id:comp_id>/appeals": "login 403 403 ok ok ok ok",
    "GET /competitions/<id:comp_id>/corrections": "login 403 403 ok 403 403 ok",
    "GET /competitions/<id:comp_id>/entries": "login 403 403 403 ok ok ok",
    "GET /competitions/<id:comp_id>/results": "login ok ok ok ok ok ok",
    "GET /competitions/<id:comp_id>/results.xlsx": "login 403 403 403 ok ok ok",
    "GET /competitions/<id:comp_id>/results/chart.svg": "login ok ok ok ok ok ok",
    "GET /competitions/<id:comp_id>/rounds/new": "login 403 403 403 403 403 ok",
    "GET /competitions/judging": "login 403 403 ok 403 403 403",
    "GET /competitions/new": "login 403 403 403 403 403 ok",
    "GET /competitions/results/<id:result_id>/certificate": "login ok 404 404 ok 404 ok",
    "GET /competitions/rounds/<id:round_id>/mark/<id:entry_id>": "login 403 403 ok 403 403 403",
    "GET /competitions/rounds/<id:round_id>/panel": "login 403 403 ok 403 403 ok",
    "GET /competitions/rounds/<id:round_id>/raters": "login 403 403 ok 403 403 ok",
    "GET /competitions/rounds/<id:round_id>/raters.svg": "login 403 403 ok 403 403 ok",
    "GET /competitions/rounds/<id:round_id>/scheme": "login 403 403 ok 403 403 ok",
    "GET /competitions/rounds/<id:round_id>/scheme.xlsx": "login 403 403 ok 403 403 ok",
    "POST /competitions/<id:comp_id>/appeals": "login 403 403 ok ok ok ok",
    "POST /competitions/<id:comp_id>/chief": "login 403 403 403 403 403 ok",
    "POST /competitions/<id:comp_id>/corrections": "login 403 403 ok 403 403 ok",
    "POST /competitions/<id:comp_id>/entries": "login 403 403 403 ok ok ok",
    "POST /competitions/<id:comp_id>/entries/<id:entry_id>/withdraw": "login 403 403 403 ok 404 ok",
    "POST /competitions/<id:comp_id>/judges": "login 403 403 403 403 403 ok",
    "POST /competitions/<id:comp_id>/rounds/new": "login 403 403 403 403 403 ok",
    "POST /competitions/<id:comp_id>/status": "login 403 403 403 403 403 ok",
    "POST /competitions/appeals/<id:appeal_id>/decide": "login 403 403 ok 403 403 ok",
    "POST /competitions/new": "login 403 403 403 403 403 ok",
    "POST /competitions/rounds/<id:round_id>/assign": "login 403 403 403 403 403 ok",
    "POST /competitions/rounds/<id:round_id>/lock": "login 403 403 ok 403 403 ok",
    "POST /competitions/rounds/<id:round_id>/mark/<id:entry_id>": "login 403 403 ok 403 403 403",
    "POST /competitions/rounds/<id:round_id>/moderate": "login 403 403 ok 403 403 ok",
    "POST /competitions/rounds/<id:round_id>/refresh": "login 403 403 ok 403 403 ok",
    "POST /competitions/rounds/<id:round_id>/scheme": "login 403 403 403 403 403 ok",
}

# Query strings and form fields some routes get, so that they reach their scope checks
# (``{name}`` is filled from the world's values, as URL arguments are).
QUERY: dict[str, str] = {
    "GET /activity/": "township_id={township_id}",
    "GET /activity/export.jsonl": "township_id={township_id}",
    "GET /activity/export.xlsx": "township_id={township_id}",
    "GET /certificates/": "agent_id={agent_id}",
    "GET /certificates/archive": "township_id={township_id}",
    "GET /dashboard/": "township_id={township_id}",
    "GET /dashboard/charts/<name>.<fmt>": "township_id={township_id}",
    "GET /dashboard/export/<table>.xlsx": "township_id={township_id}",
    "GET /dashboard/tables/<name>": "township_id={township_id}",
    "GET /manage/exams/<id:exam_id>/overrides": "agent_id={agent_id}",
    "GET /questions/export": "fmt=gift",
}
FORM: dict[str, dict[str, str]] = {
    "POST /competitions/rounds/<id:round_id>/moderate": {
        "entry_id": "{entry_id}",
        "criterion_id": "{criterion_id}",
        "note": "复核",
    },
    "POST /attempts/<id:attempt_id>/answers/<int:position>": {"seq": "1"},
    "POST /certificates/archive": {"township_id": "{township_id}"},
}


def _expected() -> dict[str, tuple[str, ...]]:
    out = {}
    for key, row in EXPECTED.items():
        cells = tuple(row.split())
        assert len(cells) == len(VISITORS), f"{key}: {len(cells)} outcomes, want {len(VISITORS)}"
        assert set(cells) <= OUTCOMES, f"{key}: unknown outcome in {row!r}"
        out[key] = cells
    return out


# --- the world ---------------------------------------------------------------------------------


@dataclass
class Ids:
    logins: dict[str, str]
    values: dict[str, object]


def _build() -> Ids:
    from academy.certification import services as certs
    from academy.certification.models import CertificationScheme, CertSource
    from academy.content.loader import ContentDoc
    from academy.exams import authoring
    from academy.exams import services as exams
    from academy.learning.services import sync_modules
    from academy.practice import services as practice
    from academy.questions.models import Dimension
    from tests.content_samples import valid_module

    w = factories.build_world()
    data = valid_module(w.item.slug)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    sync_modules([ContentDoc(f"courses/{w.item.slug}.yaml", data, text)])

    bank = factories.question_bank(w.item)
    questions = [factories.question(bank, item=w.item, difficulty=1) for _ in range(3)]
    essay = factories.question(bank, "essay", item=w.item, dimension=Dimension.ETIQUETTE)
    exam = authoring.create_exam(
        w.expert,
        authoring.ExamData(title="东镇养老保险考试", time_limit_minutes=30, township_id=w.east.id),
    )
    authoring.set_sections(
        w.expert,
        exam,
        [
            authoring.SectionData("业务知识", 5, item_ids=(w.item.id,), counts={"1": 2}),
            authoring.SectionData("情景简答", 10, question_ids=(essay.id,)),
        ],
    )
    authoring.publish_exam(w.expert, exam)
    attempt = exams.start_attempt(exam, w.east_agent, None)
    exams.submit_attempt(attempt)
    essay_answer = next(a for a in attempt.answers if a.qtype == "essay")
    override = exams.set_override(
        w.admin, exam, exams.OverrideData(10, None, None, None, "视力不好"), agent=w.east_agent
    )

    certs.ensure_default_schemes()
    scheme = db.session.scalars(db.select(CertificationScheme)).first()
    cert = certs.issue_certificate(w.east_agent, scheme, date.today(), CertSource.MANUAL, w.admin)

    comp = _competition(w)
    sim = _simulation(w)

    for _ in range(2):
        factories.practice_question(w.item)
    session = practice.start_session(w.east_agent, 2)
    first = practice.next_question(session)
    practice.answer(w.east_agent, first, True if first.qtype == "truefalse" else [0], session)
    db.session.flush()

    return Ids(
        logins={
            "agent": w.agent_user.get_id(),
            "other": w.west_agent_user.get_id(),
            "expert": w.expert.get_id(),
            "head": w.east_head.get_id(),
            "ohead": w.west_head.get_id(),
            "admin": w.admin.get_id(),
        },
        values={
            "agent_id": w.east_agent.id,
            "village_id": w.east_village.id,
            "township_id": w.east.id,
            "user_id": w.agent_user.id,
            "exam_id": exam.id,
            "section_id": exam.sections[0].id,
            "override_id": override.id,
            "attempt_id": attempt.id,
            "answer_id": essay_answer.id,
            "question_id": questions[0].id,
            "session_id": session.id,
            "practice_question_id": first.id,
            "cert_id": cert.id,
            "code": cert.code,
            "slug": w.item.slug,
            "part": "materials",
            "version": 1,
            "position": 1,
            "qtype": "multichoice",
            "filename": "css/app.css",
            "name": "turnover",
            "fmt": "svg",
            "table": "coverage",
            **comp,
            **sim,
        },
    )


def _competition(w) -> dict:
    """A published competition: the east and the west agent entered, the world's expert
    the only judge and the chief judge, an appeal from the east head decided."""
    from datetime import timedelta

    from academy.competition import judging, outcomes
    from academy.competition import services as comp
    from academy.competition.models import Result, RoundKind
    from tests.competition_world import scheme

    c = comp.create_competition(
        w.admin,
        year=2026,
        title="2026 年大比武",
        joined_before=date.today(),
        registration_closes_on=date.today(),
    )
    live = comp.add_round(
        w.admin, c, kind=RoundKind.LIVE, title="现场演练", weight=100, judges_per_candidate=1
    )
    comp.set_criteria(w.admin, live, scheme())
    judge = comp.add_judge(w.admin, c, w.expert)
    comp.set_chief_judge(w.admin, c, w.expert)
    comp.open_registration(w.admin, c)
    east = comp.nominate(w.east_head, c, w.east_agent, date.today())
    comp.nominate(w.west_head, c, w.west_agent, date.today())
    comp.close_registration(w.admin, c)
    judging.assign(w.admin, live, seed=1)
    for entry in comp.active_entries(c):
        marks = {k.id: v for k, v in zip(live.criteria, (8, 2, 3), strict=True)}
        judging.save_sheet(live, entry.id, judge, marks, "", 1, True)
    judging.lock_round(w.expert, live)
    appeal = outcomes.file_appeal(w.east_head, east, live, "请复核", live.locked_at)
    outcomes.decide_appeal(w.expert, appeal, False, "维持")
    live.locked_at -= timedelta(days=30)
    outcomes.publish(w.admin, c)
    result = db.session.scalar(db.select(Result).where(Result.entry_id == east.id))
    return {
        "comp_id": c.id,
        "round_id": live.id,
        "entry_id": east.id,
        "criterion_id": live.criteria[0].id,
        "appeal_id": appeal.id,
        "result_id": result.id,
    }


def _simulation(w) -> dict:
    """A case whose slug is the world's item's (``<slug>`` serves modules and cases alike),
    played by the east agent to its end, with a free-text reply waiting for an expert."""
    from academy.content.loader import ContentDoc
    from academy.simulations import services as sims
    from academy.simulations.models import RunStep
    from tests.simcases import sample_case

    data = sample_case(w.item.slug, slug=w.item.slug)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    sims.sync_cases([ContentDoc(f"simulations/{data['slug']}.yaml", data, text)])
    run = sims.start_run(w.east_agent, sims.case_by_slug(w.item.slug), user=w.agent_user)
    sims.play(run, "best")
    row = db.session.scalar(
        db.select(RunStep).where(RunStep.run_id == run.id, RunStep.kind == "free_text")
    )
    return {"run_id": run.id, "row_id": row.id if row else run.steps[0].id, "number": 1}


def _url_values(rule, values: dict) -> dict:
    """The value of each argument of ``rule``'s URL."""
    out = {}
    for arg in rule.arguments:
        if arg == "question_id" and rule.endpoint == "practice.review":
            out[arg] = values["practice_question_id"]
        else:
            assert arg in values, f"{rule.rule}: no test value for <{arg}>; add it to _build()"
            out[arg] = values[arg]
    return out


_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _url(key: str, rule, values: dict) -> str:
    vals = _url_values(rule, values)
    path = _ARG.sub(lambda m: str(vals[m.group(1)]), rule.rule)
    query = QUERY.get(key)
    return f"{path}?{query.format(**values)}" if query else path


def _form(key: str, values: dict) -> dict:
    return {k: v.format(**values) for k, v in FORM.get(key, {}).items()}


def _cases(app) -> list[tuple[str, str, object]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((f"{method} {rule.rule}", method, rule))
    return sorted(out, key=lambda c: c[0])


@pytest.fixture(scope="module")
def matrix(app):
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    )
    lookups = app.config.get("VERIFY_MAX_LOOKUPS")
    app.config["VERIFY_MAX_LOOKUPS"] = 10**6  # seven lookups per code route, many routes
    try:
        ids = _build()
        db.session.commit()
        db.session.remove()
        yield connection, ids
    finally:
        app.config["VERIFY_MAX_LOOKUPS"] = lookups
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()
        ctx.pop()


def _outcome(resp) -> str:
    code = resp.status_code
    if code in (301, 302, 303, 307, 308) and "/login" in resp.headers.get("Location", ""):
        return "login"
    if code == 401 and resp.is_json and "login" in resp.json:  # a JSON endpoint's "sign in"
        return "login"
    if code in (403, 404):
        return str(code)
    if code >= 500 or code in (401, 405):
        return f"HTTP {code}"
    return "ok"


def _visit(app, connection, ids: Ids, visitor: str, method: str, url: str, form: dict) -> str:
    savepoint = connection.begin_nested()
    try:
        client = app.test_client()
        if visitor != "anon":
            with client.session_transaction() as s:
                s["_user_id"] = ids.logins[visitor]
                s["_fresh"] = True
        resp = client.open(url, method=method, data=form)
        resp.get_data()  # run streamed bodies inside the savepoint
        resp.close()
        return _outcome(resp)
    finally:
        db.session.remove()
        if savepoint.is_active:
            savepoint.rollback()


def test_every_route_has_a_row(app):
    missing = [key for key, _, _ in _cases(app) if key not in EXPECTED]
    stale = sorted(set(EXPECTED) - {key for key, _, _ in _cases(app)})
    lines = [f'    "{key}": "…{len(VISITORS)} outcomes…",' for key in missing]
    assert not missing, (
        "routes without a row in tests/web/test_route_matrix.py EXPECTED "
        f"(visitors: {' '.join(VISITORS)}):\n" + "\n".join(lines)
    )
    assert not stale, f"rows for routes that no longer exist: {stale}"
    extra = sorted((set(QUERY) | set(FORM)) - set(EXPECTED))
    assert not extra, f"QUERY/FORM entries without a row: {extra}"


def test_rows_are_well_formed():
    _expected()


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_route_answers_every_visitor_as_declared(app, matrix, key):
    connection, ids = matrix
    expected = _expected()[key]
    method, _, rule_text = key.partition(" ")
    rule = next((r for r in app.url_map.iter_rules() if r.rule == rule_text), None)
    assert rule is not None, f"{key}: no such route any more; delete its row"
    url, form = _url(key, rule, ids.values), _form(key, ids.values)
    got = tuple(_visit(app, connection, ids, v, method, url, form) for v in VISITORS)
    wrong = [
        f"{v}: expected {e}, got {g}"
        for v, e, g in zip(VISITORS, expected, got, strict=True)
        if e != g
    ]
    assert not wrong, f"{method} {url} ({rule.endpoint}):\n  " + "\n  ".join(wrong)


@pytest.mark.skipif(not os.environ.get("ROUTE_MATRIX_RECORD"), reason="prints today's outcomes")
def test_record_outcomes(app, matrix):
    """ROUTE_MATRIX_RECORD=1 pytest -s -k record: today's outcomes as EXPECTED lines, to
    review (never to paste blindly: every line is a claim about who may do what)."""
    connection, ids = matrix
    for key, method, rule in _cases(app):
        url, form = _url(key, rule, ids.values), _form(key, ids.values)
        got = [_visit(app, connection, ids, v, method, url, form) for v in VISITORS]
        print(f'    "{key}": "{" ".join(got)}",')
