"""Certificate status, renewal and coverage rules across edge dates."""

from datetime import date, timedelta

import pytest

from academy.certification import rules
from academy.certification.rules import CertStatus, GapCause

D = date


@pytest.mark.parametrize(
    ("issued", "months", "expires"),
    [
        (D(2026, 1, 15), 12, D(2027, 1, 14)),
        (D(2024, 2, 29), 12, D(2025, 2, 27)),
        (D(2026, 1, 31), 1, D(2026, 2, 27)),
        (D(2026, 12, 1), 1, D(2026, 12, 31)),
    ],
)
def test_expiry_is_the_last_valid_day(issued, months, expires):
    assert rules.expiry_for(issued, months) == expires


def test_status_on_every_edge_day():
    issued, expires = D(2026, 1, 15), D(2027, 1, 14)

    def status(on, revoked=None):
        return rules.certificate_status(issued, expires, revoked, on, 60)

    assert status(D(2026, 1, 14)) == CertStatus.PENDING
    assert status(issued) == CertStatus.VALID
    assert status(expires - timedelta(days=60)) == CertStatus.VALID
    assert status(expires - timedelta(days=59)) == CertStatus.EXPIRING  # window: last 60 days
    assert status(expires) == CertStatus.EXPIRING  # the expiry day is still valid
    assert status(expires + timedelta(days=1)) == CertStatus.EXPIRED
    assert status(D(2026, 6, 1), revoked=D(2026, 6, 1)) == CertStatus.REVOKED
    assert status(D(2026, 5, 31), revoked=D(2026, 6, 1)) == CertStatus.VALID
    assert rules.counts_as_valid(CertStatus.EXPIRING) and not rules.counts_as_valid(
        CertStatus.EXPIRED
    )


def test_renewal_window_and_dates():
    expires = D(2027, 1, 14)
    assert not rules.in_renewal_window(expires, expires - timedelta(days=60), 60)
    assert rules.in_renewal_window(expires, expires - timedelta(days=59), 60)
    assert rules.in_renewal_window(expires, expires, 60)
    assert not rules.in_renewal_window(expires, expires + timedelta(days=1), 60)
    assert rules.window_start(expires, 60) == expires - timedelta(days=59)
    # Renewed early: the new validity starts the day after the old one ends.
    assert rules.renewal_dates(expires, D(2026, 12, 1), 12) == (D(2027, 1, 15), D(2028, 1, 14))
    # Renewed late: it starts on the day of renewal.
    assert rules.renewal_dates(expires, D(2027, 3, 1), 12) == (D(2027, 3, 1), D(2028, 2, 29))


def test_eligibility_lists_what_is_missing():
    req = rules.Requirement(frozenset({1, 2, 3}))
    e = rules.eligibility(req, {1})
    assert not e.eligible and e.missing_items == {2, 3} and e.steps_left == 2
    assert rules.eligibility(req, {1, 2, 3, 9}).eligible
    with_exam = rules.Requirement(frozenset({1}), min_exam_score=0.6)
    assert not rules.eligibility(with_exam, {1}, best_exam=0.5).eligible
    assert rules.eligibility(with_exam, {1}, best_exam=0.6).eligible
    assert not rules.eligibility(
        rules.Requirement(frozenset()), set()
    ).eligible  # nothing to certify


def test_refresher():
    assert rules.refresher_done({1, 2, 3}, {1, 2, 3, 4}, 3)
    assert not rules.refresher_done({1, 2, 9}, {1, 2, 3, 4}, 3)
    assert rules.refresher_done({5}, {5}, 3)  # a one-item scheme needs just that one


def test_coverage_rate():
    # The coverage rule itself is tested against the SQL that runs
    # (tests/integration/test_coverage.py::test_coverage_rule_*).
    assert rules.coverage_rate(0, 0) == 1.0 and rules.coverage_rate(4, 3) == 0.75


def test_spells_and_gap_causes():
    # Certified agent who left on 2026-06-01: covered through 2026-05-31, then a departure gap.
    spell = rules.coverage_spell(
        7, D(2025, 1, 1), D(2026, 6, 1), D(2025, 3, 1), D(2027, 2, 28), None
    )
    assert (spell.start, spell.end, spell.ended_by) == (D(2025, 3, 1), D(2026, 5, 31), "departure")
    assert rules.gap_origin([spell], D(2026, 6, 1)) == rules.GapOrigin(
        GapCause.DEPARTURE, D(2026, 6, 1)
    )
    # Certificate expired while the agent stayed.
    spell = rules.coverage_spell(7, D(2025, 1, 1), None, D(2025, 3, 1), D(2026, 2, 28), None)
    assert spell.ended_by == "expiry"
    assert rules.gap_origin([spell], D(2026, 3, 10)) == rules.GapOrigin(
        GapCause.EXPIRY, D(2026, 3, 1)
    )
    # Revoked.
    spell = rules.coverage_spell(
        7, D(2025, 1, 1), None, D(2025, 3, 1), D(2026, 2, 28), D(2025, 9, 1)
    )
    assert spell.ended_by == "revocation" and spell.end == D(2025, 8, 31)
    # Certificate earned after the agent left: never overlapped.
    assert (
        rules.coverage_spell(7, D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1), D(2026, 2, 28), None)
        is None
    )
    assert rules.gap_origin([], D(2026, 1, 1)) == rules.GapOrigin(GapCause.NEVER, None)
    ongoing = rules.coverage_spell(7, D(2025, 1, 1), None, D(2025, 3, 1), rules.FAR_FUTURE, None)
    assert ongoing.ended_by == ""


def test_leave_and_return_within_validity_covers_again():
    cert = (D(2026, 1, 1), D(2026, 12, 31), None)
    first = rules.coverage_spell(7, D(2025, 6, 1), D(2026, 3, 1), *cert)
    back = rules.coverage_spell(7, D(2026, 5, 1), None, *cert)
    assert first.end == D(2026, 2, 28) and back.start == D(2026, 5, 1) and back.ended_by == "expiry"


def test_month_ends():
    assert rules.month_ends(D(2026, 3, 15), 4) == [
        D(2025, 12, 31),
        D(2026, 1, 31),
        D(2026, 2, 28),
        D(2026, 3, 15),
    ]


def test_refresher_need_offers_village_items_first_and_counts_what_is_done():
    need = rules.refresher_need(
        scheme_items={1, 2, 3, 4},
        offered={3},
        recent_passed_items={4},
        needed=2,
        with_module={1, 2, 3, 4},
        rank={1: 1, 2: 5},
    )
    assert (need.needed, need.done, need.left) == (2, 1, 1)
    assert need.todo == (3, 2, 1)  # the village's item, then the busiest
    done = rules.refresher_need({1, 2}, set(), {1, 2}, 3, {1, 2})
    assert (done.needed, done.left, done.todo) == (2, 0, ())


def test_gap_next_step_names_the_concrete_step_never_a_zero_count():
    step = rules.gap_next_step
    assert step(False, [], None, None, 0).startswith("先新增一名在岗代办员")
    assert step(True, ["甲", "乙", "丙", "丁"], 60.0, None, 3) == (
        "学完 4 个模块（甲、乙、丙等），再通过本类考试（60 分及以上）"
    )
    assert step(True, [], None, date(2026, 3, 1), 3) == (
        "证书已于 2026-03-01 过期：复训 3 个模块并通过小测即可恢复"
    )
    assert "0 个" not in step(True, [], None, None, 3)
