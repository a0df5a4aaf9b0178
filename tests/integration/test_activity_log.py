"""The learning-event log against the database: where an event is placed, what the
certificate services log, lapses, and the monthly rollup."""

from datetime import date, timedelta

import sqlalchemy as sa

from academy.activity import rules, services
from academy.activity.models import ActivityMonth, LearningEvent, ObjectType, Verb
from academy.auth.policy import Scope
from academy.catalogue.models import ItemCategory
from academy.certification import services as certs
from academy.certification.models import CertSource
from academy.db import utcnow
from academy.extensions import db
from academy.learning import services as learning
from academy.roster.models import Agent


def _events(**where):
    stmt = sa.select(LearningEvent).order_by(LearningEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(LearningEvent, key) == value)
    return list(db.session.scalars(stmt))


def _count_statements(fn):
    engine = db.session.get_bind()
    seen = []

    def before(conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE")):  # the test's transaction
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return seen


def test_record_event_places_the_learner_without_loading_anything(world):
    agent_id, east, village = world.east_agent.id, world.east.id, world.east_village.id
    db.session.commit()
    db.session.expire_all()  # nothing loaded: the INSERT finds the posting itself

    def log():
        services.record_event(Verb.OPENED, ObjectType.MODULE, 1, "模块", agent=agent_id)
        db.session.flush()

    statements = _count_statements(log)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT")
    event = _events()[-1]
    assert (event.township_id, event.village_id) == (east, village)


def test_record_event_reads_a_loaded_posting_or_explicit_ids(world):
    west, west_village = world.west.id, world.west_village.id
    agent = db.session.get(Agent, world.east_agent.id)
    assert agent.current_posting.village.township_id == world.east.id  # all loaded now
    statements = _count_statements(
        lambda: (
            services.record_event(Verb.OPENED, ObjectType.MODULE, 1, "模块", agent=agent),
            services.record_event(
                Verb.OPENED,
                ObjectType.MODULE,
                2,
                "模块",
                agent=agent.id,
                township_id=west,
                village_id=west_village,
            ),
            db.session.flush(),
        )
    )
    assert all(s.lstrip().upper().startswith("INSERT") for s in statements)
    first, second = _events()
    assert (first.township_id, first.village_id) == (world.east.id, world.east_village.id)
    assert (second.township_id, second.village_id) == (world.west.id, world.west_village.id)


def test_a_visit_is_logged_once_per_ten_minutes(world, module):
    agent = world.east_agent
    now = utcnow()
    learning.visit_module(agent, module, now=now)
    learning.visit_module(agent, module, now=now + timedelta(minutes=9))
    learning.visit_module(agent, module, now=now + timedelta(minutes=11))
    db.session.flush()
    assert len(_events(verb=Verb.OPENED)) == 2


def _scheme():
    certs.ensure_default_schemes()
    return next(s for s in certs.active_schemes() if s.category == ItemCategory.REGISTRATION)


def test_issue_renew_and_revoke_are_logged_with_who_did_it(world):
    scheme = _scheme()
    today = date.today()
    old = certs.issue_certificate(
        world.east_agent, scheme, today - timedelta(days=340), CertSource.MANUAL, world.admin
    )
    new = certs.issue_certificate(
        world.east_agent, scheme, today, CertSource.RENEWED, renewed_from=old
    )
    certs.revoke_certificate(world.admin, old, "违规代办")
    db.session.flush()
    issued, renewed, revoked = _events(object_type=ObjectType.CERTIFICATE)
    assert (issued.verb, issued.user_id, issued.object_id) == (
        Verb.ISSUED,
        world.admin.id,
        str(old.id),
    )
    assert issued.at == rules.day_moment(today - timedelta(days=340))  # the day it was dated
    assert (renewed.verb, renewed.user_id, renewed.object_id) == (Verb.RENEWED, None, str(new.id))
    assert (revoked.verb, revoked.user_id) == (Verb.REVOKED, world.admin.id)
    assert revoked.context["reason"] == "违规代办"
    assert {e.township_id for e in (issued, renewed, revoked)} == {world.east.id}


def test_lapses_are_logged_once_and_only_for_real_lapses(world):
    scheme = _scheme()
    today = date.today()
    long_ago = today - timedelta(days=500)
    for agent in (world.east_agent, world.west_agent):
        agent.current_posting.joined_on = long_ago - timedelta(days=100)
    lapsed = certs.issue_certificate(world.east_agent, scheme, long_ago, CertSource.MANUAL)
    revoked = certs.issue_certificate(world.west_agent, scheme, long_ago, CertSource.MANUAL)
    certs.revoke_certificate(world.admin, revoked, "撤销", on=long_ago + timedelta(days=30))
    seamless = certs.issue_certificate(world.west_agent, scheme, long_ago, CertSource.MANUAL)
    certs.issue_certificate(
        world.west_agent, scheme, seamless.expires_on, CertSource.RENEWED, renewed_from=seamless
    )
    valid = certs.issue_certificate(world.east_agent, scheme, today, CertSource.MANUAL)
    assert certs.record_lapses(today) == 1
    assert certs.record_lapses(today) == 0
    (event,) = _events(verb=Verb.LAPSED)
    assert event.object_id == str(lapsed.id) and event.object_id != str(valid.id)
    assert event.at == rules.day_moment(lapsed.expires_on + timedelta(days=1))
    assert (event.township_id, event.village_id) == (world.east.id, world.east_village.id)


def _event(at, verb=Verb.ANSWERED, kind=ObjectType.PRACTICE, agent=None, township=None):
    return dict(
        at=at,
        agent_id=agent,
        verb=verb,
        object_type=kind,
        object_id="1",
        object_name="x",
        township_id=township,
    )


def test_a_past_month_is_rolled_up_once_and_a_late_event_makes_it_stale(world):
    today = date.today()
    last = rules.recent_months(today, 2)[0]
    at = rules.day_moment(last + timedelta(days=3))
    east, west = world.east.id, world.west.id
    a, b = world.east_agent.id, world.west_agent.id
    services.append_many(
        [
            _event(at, agent=a, township=east),
            _event(at, Verb.PASSED, ObjectType.MODULE, agent=a, township=east),
            _event(at, agent=b, township=west),
            _event(at, Verb.ISSUED, ObjectType.CERTIFICATE, agent=b, township=west),
        ]
    )
    first = services.record_rollups(today)
    assert first == 11  # every month of the last year that is over, computed once
    assert services.record_rollups(today) == 0  # idempotent

    def stored():
        return {
            (r.township_id, r.month): (
                r.events,
                r.answered,
                r.modules_passed,
                r.certificates,
                r.learners,
            )
            for r in db.session.scalars(sa.select(ActivityMonth).where(ActivityMonth.month == last))
        }

    assert stored() == {
        (east, last): (2, 1, 1, 0, 1),
        (west, last): (2, 1, 0, 1, 1),
        (None, last): (4, 2, 1, 1, 2),
    }
    series = services.monthly_activity([east], today)
    assert (series[-2].month, series[-2].answered, series[-2].modules_passed) == (last, 1, 1)

    # a late event (a lapse found today, dated last month) drops that month's rollup …
    services.append_many([_event(at, agent=a, township=east)])
    assert stored() == {}
    # … and the chart computes it again, once
    series = services.monthly_activity([east], today)
    assert series[-2].answered == 2
    assert services.record_rollups(today) == 0


def test_current_month_is_counted_live(world):
    today = date.today()
    now = utcnow()
    services.record_rollups(today)
    services.append_many([_event(now, agent=world.east_agent.id, township=world.east.id)])
    series = services.monthly_activity([world.east.id], today)
    assert series[-1].month == rules.recent_months(today, 1)[0]
    assert (series[-1].answered, series[-1].learners) == (1, 1)
    assert services.monthly_activity([world.west.id], today)[-1].answered == 0
    assert services.monthly_activity(None, today)[-1].answered == 1


def test_jsonl_is_streamed_in_pieces_of_whole_lines(world):
    import json

    now = utcnow()
    services.append_many(
        [_event(now, agent=world.east_agent.id, township=world.east.id) for _ in range(5)]
    )
    f = services.EventFilter(
        None, date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    )
    pieces = list(services.jsonl_lines(Scope.of(world.admin), f, chunk=2))
    assert len(pieces) == 3 and all(p.endswith("\n") for p in pieces)
    statements = [json.loads(line) for line in "".join(pieces).splitlines()]
    assert len({s["id"] for s in statements}) == 5
    assert {s["actor"]["name"] for s in statements} == {"张东"}
    # a township head's stream holds only their township, whatever the filter says
    assert list(services.jsonl_lines(Scope.of(world.west_head), f)) == []
