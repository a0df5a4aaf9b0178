"""Certificates and coverage against the database: issue, expire, revoke, depart, renew."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from academy.catalogue.models import ItemCategory
from academy.certification import coverage, rules, services
from academy.certification.alerts import build_alerts, open_alerts
from academy.certification.models import (
    Alert,
    AlertKind,
    Certificate,
    CertificationScheme,
    CertSource,
)
from academy.extensions import db
from academy.learning.models import CheckAttempt
from academy.regions.models import StationTier
from academy.roster import services as roster
from academy.roster.models import LeaveReason
from tests import factories

TODAY = date.today()


@pytest.fixture
def schemes(world):
    services.ensure_default_schemes()
    return {s.category: s for s in db.session.scalars(sa.select(CertificationScheme))}


def _gaps(world):
    return [(g.village.name, g.key, g.cause) for g in coverage.gaps([world.east.id], TODAY)]


def _issue(world, schemes, on, agent=None):
    return services.issue_certificate(
        agent or world.east_agent,
        schemes[ItemCategory.REGISTRATION],
        on,
        CertSource.MANUAL,
        world.admin,
    )


def test_never_covered_then_covered(world, schemes):
    assert _gaps(world) == [("东一村", "registration", rules.GapCause.NEVER)]
    [row] = coverage.coverage_by_township([world.east.id], TODAY)
    assert (row.required, row.covered, row.rate) == (1, 0, 0.0)
    _issue(world, schemes, TODAY)
    [row] = coverage.coverage_by_township([world.east.id], TODAY)
    assert (row.required, row.covered, row.full_villages) == (1, 1, 1)
    assert _gaps(world) == []


def test_departure_lowers_coverage_at_once(world, schemes):
    _issue(world, schemes, TODAY - timedelta(days=30))
    roster.record_departure(
        world.east_head, world.east_agent.current_posting, TODAY, LeaveReason.RESIGNED
    )
    [gap] = coverage.gaps([world.east.id], TODAY)
    assert gap.cause == rules.GapCause.DEPARTURE and gap.since == TODAY
    assert coverage.coverage_by_township([world.east.id], TODAY)[0].covered == 0
    # The day before, the village was still covered.
    assert coverage.coverage_by_township([world.east.id], TODAY - timedelta(days=1))[0].covered == 1


def test_expiry_and_revocation_open_gaps(world, schemes):
    old = _issue(world, schemes, TODAY - timedelta(days=400))
    [gap] = coverage.gaps([world.east.id], TODAY)
    assert gap.cause == rules.GapCause.EXPIRY and gap.since == old.expires_on + timedelta(days=1)
    fresh = _issue(world, schemes, TODAY - timedelta(days=10))
    assert coverage.gaps([world.east.id], TODAY) == []
    services.revoke_certificate(world.admin, fresh, "弄虚作假", TODAY)
    [gap] = coverage.gaps([world.east.id], TODAY)
    assert gap.cause == rules.GapCause.REVOCATION
    assert services.status_of(fresh, TODAY) == rules.CertStatus.REVOKED


def test_leave_and_return_within_validity_keeps_the_certificate(world, schemes):
    _issue(world, schemes, TODAY - timedelta(days=100))
    posting = world.east_agent.current_posting
    roster.record_departure(world.east_head, posting, TODAY - timedelta(days=20), LeaveReason.OTHER)
    assert coverage.coverage_by_township([world.east.id], TODAY)[0].covered == 0
    roster.rejoin_agent(world.east_head, world.east_agent, world.east_village, posting.kind, TODAY)
    assert coverage.coverage_by_township([world.east.id], TODAY)[0].covered == 1


def test_model_station_can_require_two_agents(app, world, schemes):
    world.east_village.tier = StationTier.MODEL
    _issue(world, schemes, TODAY)
    app.config["COVERAGE_TWO_FOR_MODEL"] = True
    try:
        [gap] = coverage.gaps([world.east.id], TODAY)
        assert gap.key == "registration"
        second = factories.agent(world.east_village, "王二")
        _issue(world, schemes, TODAY, agent=second)
        assert coverage.gaps([world.east.id], TODAY) == []
    finally:
        app.config["COVERAGE_TWO_FOR_MODEL"] = False


# --- the coverage rule, against the SQL that runs (it used to have a Python twin that only
# these cases called) -----------------------------------------------------------------------


@pytest.fixture
def station(world, schemes):
    """A village offering an item of three categories; 甲 holds 证明证照 and 充值缴费
    certificates, 乙 充值缴费 only; nobody 特色服务."""
    items = [factories.item(category=c) for c in ("certificate", "payment", "special")]
    village = factories.village(world.east, "三类村", items=items)
    first, second = factories.agent(village, "甲"), factories.agent(village, "乙")
    for agent, category in (
        (first, ItemCategory.CERTIFICATE),
        (first, ItemCategory.PAYMENT),
        (second, ItemCategory.PAYMENT),
    ):
        services.issue_certificate(agent, schemes[category], TODAY, CertSource.MANUAL)
    db.session.flush()
    return village


def _pairs(village) -> dict[str, tuple[int, int]]:
    """key -> (holders, needed) of one village, from ``coverage_pairs``."""
    rows = db.session.execute(coverage.coverage_pairs(TODAY, [village.township_id]))
    return {str(r.key): (r.holders, r.needed) for r in rows if r.village_id == village.id}


def _uncovered(village) -> list[str]:
    return sorted(k for k, (held, needed) in _pairs(village).items() if held < needed)


def test_coverage_rule_counts_certified_active_agents_per_key(station):
    assert _pairs(station) == {"certificate": (1, 1), "payment": (2, 1), "special": (0, 1)}
    assert _uncovered(station) == ["special"]


@pytest.mark.parametrize(
    ("tier", "two_for_model", "needed", "uncovered"),
    [
        (StationTier.MODEL, True, 2, ["certificate", "special"]),  # payment has its two
        (StationTier.STANDARD, True, 1, ["special"]),
        (StationTier.MODEL, False, 1, ["special"]),
    ],
)
def test_coverage_rule_model_stations(app, station, tier, two_for_model, needed, uncovered):
    station.tier = tier
    db.session.flush()
    app.config["COVERAGE_TWO_FOR_MODEL"] = two_for_model
    try:
        assert {n for _, n in _pairs(station).values()} == {needed}
        assert _uncovered(station) == uncovered
    finally:
        app.config["COVERAGE_TWO_FOR_MODEL"] = False


def test_coverage_rule_ignores_departed_agents_and_revoked_certificates(world, station):
    from academy.roster.models import Agent, Posting

    def posting(name):
        return db.session.scalar(
            sa.select(Posting)
            .join(Agent)
            .where(Posting.village_id == station.id, Agent.name == name)
        )

    roster.record_departure(world.east_head, posting("甲"), TODAY, LeaveReason.RESIGNED)
    assert _pairs(station)["certificate"] == (0, 1) and _pairs(station)["payment"] == (1, 1)
    [cert] = db.session.scalars(
        sa.select(Certificate).where(Certificate.agent_id == posting("乙").agent_id)
    ).all()
    services.revoke_certificate(world.admin, cert, "测试撤销", TODAY)
    assert _pairs(station)["payment"] == (0, 1)


def test_per_item_mode(app, world, schemes):
    other = factories.item("另一登记事项")
    world.east_village.items = [world.item, other]
    item_scheme = CertificationScheme(
        code="one-item",
        name="单项",
        item_id=other.id,
        level=schemes[ItemCategory.REGISTRATION].level,
    )
    db.session.add(item_scheme)
    db.session.flush()
    services.issue_certificate(world.east_agent, item_scheme, TODAY, CertSource.MANUAL)
    app.config["COVERAGE_MODE"] = "item"
    try:
        assert [g.key for g in coverage.gaps([world.east.id], TODAY)] == [str(world.item.id)]
        _issue(world, schemes, TODAY)  # a category certificate covers every item of the category
        assert coverage.gaps([world.east.id], TODAY) == []
    finally:
        app.config["COVERAGE_MODE"] = "category"


def test_passing_the_module_issues_the_certificate(world, schemes, module):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0
    factories.pass_module(world.east_agent, module)
    [cert] = db.session.scalars(sa.select(Certificate)).all()
    assert cert.source == CertSource.EARNED and cert.scheme.category == ItemCategory.REGISTRATION
    assert cert.expires_on == rules.expiry_for(TODAY, 12)
    assert services.evaluate_agent(world.east_agent) == []  # no duplicate


def test_refresher_in_the_window_renews_without_a_gap(world, schemes, module):
    old = _issue(world, schemes, rules.add_months(TODAY, -12) + timedelta(days=20))
    assert services.status_of(old, TODAY) == rules.CertStatus.EXPIRING
    assert services.evaluate_agent(world.east_agent) == []  # window open, refresher not done yet
    factories.pass_module(world.east_agent, module)
    renewed = db.session.scalar(sa.select(Certificate).where(Certificate.renewed_from_id == old.id))
    assert renewed.source == CertSource.RENEWED
    assert renewed.issued_on == old.expires_on + timedelta(days=1)
    assert coverage.expiring([world.east.id], TODAY, 90) == []  # renewed: no longer listed


def test_alert_job_is_idempotent_and_resolves(world, schemes):
    world.east_agent.current_posting.joined_on = TODAY - timedelta(days=60)
    cert = _issue(world, schemes, rules.add_months(TODAY, -12) + timedelta(days=10))
    first = build_alerts(TODAY)
    assert first.created == 1 and first.resolved == 0
    assert [a.kind for a in open_alerts([world.east.id])] == [AlertKind.EXPIRING]
    again = build_alerts(TODAY)
    assert (again.created, again.resolved) == (0, 0)
    services.revoke_certificate(world.admin, cert, "测试撤销", TODAY)
    third = build_alerts(TODAY)
    assert third.resolved == 1  # the expiring alert cleared…
    kinds = {a.kind for a in open_alerts([world.east.id])}
    assert kinds == {AlertKind.COVERAGE_LOST}  # …and the lost coverage raised one
    assert open_alerts([world.west.id]) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 2


def count_queries(fn):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len(statements)


def test_evaluating_an_agent_does_not_query_per_scheme(world, schemes):
    """Every scheme's certificate held and in its renewal window, so each one looks at the
    refresher checks: still the same number of queries with twice the schemes."""

    def evaluate():
        assert services.evaluate_agent(world.east_agent) == []

    def hold_all():
        for scheme in db.session.scalars(sa.select(CertificationScheme)):
            if not any(c.scheme_id == scheme.id for c in held()):
                services.issue_certificate(
                    world.east_agent,
                    scheme,
                    rules.add_months(TODAY, -12) + timedelta(days=20),
                    CertSource.MANUAL,
                )
        db.session.flush()

    def held():
        return db.session.scalars(
            sa.select(Certificate).where(Certificate.agent_id == world.east_agent.id)
        ).all()

    for category in ItemCategory:  # a scheme with no items would renew at once
        factories.item(category=category)
    hold_all()
    few = count_queries(evaluate)
    for category in ItemCategory:
        db.session.add(
            CertificationScheme(
                code=f"{category.value}-senior",
                name=f"{category.label}（中级）",
                category=category,
                level=schemes[category].level,
            )
        )
    db.session.flush()
    hold_all()
    assert count_queries(evaluate) == few


def test_coverage_queries_do_not_grow_with_the_roster(world, schemes):
    def run():
        coverage.coverage_by_township(None, TODAY)
        coverage.coverage_trend(None, TODAY)

    run()  # the first trend view records the past months once
    db.session.flush()
    small = count_queries(run)
    for n in range(8):
        v = factories.village(world.east, f"新村{n}", items=[world.item])
        _issue(world, schemes, TODAY, agent=factories.agent(v))
    db.session.flush()
    assert count_queries(run) == small


def test_certification_asks_only_for_items_the_village_offers(world, schemes, module):
    # Another registration item exists in the catalogue, but 东一村 does not offer it.
    factories.item("社区才有的登记事项")
    factories.pass_module(world.east_agent, module)
    [cert] = db.session.scalars(sa.select(Certificate)).all()
    assert cert.agent_id == world.east_agent.id


def test_trend_reads_recorded_snapshots_and_backfills_once(world, schemes):
    from academy.certification.models import CoverageSnapshot

    _issue(world, schemes, TODAY - timedelta(days=100))
    first = coverage.coverage_trend([world.east.id], TODAY)
    assert len(first) == 12 and first[-1] == (TODAY, 1.0)
    months_before = [d for d, _ in first[:-1]]
    stored = db.session.scalars(
        sa.select(CoverageSnapshot.day).where(CoverageSnapshot.township_id == world.east.id)
    ).all()
    assert set(months_before) <= set(stored)
    # Past months are read back as recorded, not recomputed.
    oldest = db.session.scalar(
        sa.select(CoverageSnapshot).where(
            CoverageSnapshot.township_id == world.east.id, CoverageSnapshot.day == months_before[0]
        )
    )
    oldest.covered, oldest.required = 1, 2
    assert coverage.coverage_trend([world.east.id], TODAY)[0] == (months_before[0], 0.5)


def test_a_lapsed_certificate_needs_the_refresher_not_old_passes(world, schemes, module):
    factories.pass_module(world.east_agent, module)  # earned today…
    [cert] = db.session.scalars(sa.select(Certificate)).all()
    cert.issued_on = TODAY - timedelta(days=500)  # …pretend it was long ago and has lapsed
    cert.expires_on = TODAY - timedelta(days=135)
    db.session.execute(sa.update(CheckAttempt).values(at=TODAY - timedelta(days=400)))
    db.session.flush()
    assert services.evaluate_agent(world.east_agent) == []  # old passes do not re-certify
    factories.pass_module(world.east_agent, module)  # the refresher, after the lapse
    renewed = db.session.scalar(
        sa.select(Certificate).where(Certificate.renewed_from_id == cert.id)
    )
    assert renewed.source == CertSource.RENEWED and renewed.issued_on == TODAY


def test_a_scheme_that_asks_for_an_exam_waits_for_a_passing_exam(world, schemes, module):
    from academy.exams import services as exams
    from tests.integration.test_exam_services import choose, make_exam

    scheme = schemes[ItemCategory.REGISTRATION]
    scheme.min_exam_score = 60.0
    factories.pass_module(world.east_agent, module)
    assert not db.session.scalars(sa.select(Certificate)).all()
    gap = coverage.gaps([world.east.id], TODAY)[0]
    assert gap.nearest_agent == world.east_agent and gap.steps_left == 1  # the exam
    assert gap.next_step == "模块已全部学完，还需通过本类考试（60 分及以上）"
    question = factories.question(item=world.item)
    exam = make_exam(questions=[question], shuffle_answers=False)
    exam.category = ItemCategory.REGISTRATION
    # A failed exam is not enough …
    failed = exams.start_attempt(exam, world.east_agent, None)
    exams.save_answer(failed.id, world.east_agent.id, 1, choose(1, "1"), seq=1)
    db.session.expire_all()
    exams.submit_attempt(failed)
    assert failed.passed is False and not db.session.scalars(sa.select(Certificate)).all()
    # … a passing one issues the certificate as soon as it is graded.
    passed = exams.start_attempt(exam, world.east_agent, None)
    exams.save_answer(passed.id, world.east_agent.id, 1, choose(1, "0"), seq=1)
    db.session.expire_all()
    exams.submit_attempt(passed)
    certs = db.session.scalars(sa.select(Certificate)).all()
    assert passed.percent == 100.0 and [c.scheme_id for c in certs] == [scheme.id]
