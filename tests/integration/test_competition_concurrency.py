"""Judges saving marks at the same moment on PostgreSQL, through the real request path
(one Flask test client per device, each request in its own app context, session and
database connection; all committed, no shared test transaction):

- the whole panel of a candidate saves at once, again and again, then submits: every
  judge's marks are kept, nobody's are lost or mixed up;
- one judge saves from two devices at once (the first save of each candidate creates the
  sheet on both): the save with the newer seq wins whatever order they land in, the
  older one is answered as stale, and nothing ever fails with a 500.

Skipped unless TEST_DATABASE_URL is set (SQLite serialises writers anyway).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from academy import create_app
from academy.auth.models import User
from academy.competition import judging
from academy.competition.models import Assignment, Sheet, SheetState
from academy.config import TestConfig, normalise_db_url
from academy.extensions import db
from tests import factories
from tests.competition_world import build

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)
ROUNDS = 8


@pytest.fixture
def venue(worker_id):
    base = normalise_db_url(os.environ["TEST_DATABASE_URL"])
    schema = f"competition_concurrency_{worker_id}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"{base}{sep}options=-csearch_path%3D{schema}",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 8, "max_overflow": 8},
        }
    )
    with app.app_context():
        db.create_all()
        s = build(factories.build_world())
        judging.assign(s.chief, s.live, seed=7)
        panels: dict[int, list[tuple[int, int]]] = {}
        for a in db.session.scalars(sa.select(Assignment).where(Assignment.round_id == s.live.id)):
            user_id = next(j.user_id for j in s.judges if j.id == a.judge_id)
            panels.setdefault(a.entry_id, []).append((a.judge_id, user_id))
        ids = {
            "round": s.live.id,
            "criteria": [c.id for c in s.live.criteria],
            "panels": panels,
            "users": {u.id: u.get_id() for u in db.session.scalars(sa.select(User))},
        }
        db.session.commit()
        db.session.remove()
    try:
        yield app, ids
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _device(app, user_key: str):
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = user_key
        s["_fresh"] = True
    return client


def _at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run the jobs in threads released together; exceptions are returned, not lost."""
    gate = threading.Barrier(len(jobs))
    out: list[object] = [None] * len(jobs)

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = jobs[i]()
        except Exception as err:  # a 500 propagates from the test client as an exception
            out[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _post(client, url: str, data: dict):
    def job():
        r = client.post(url, data=data, headers={"Accept": "application/json"})
        return r.status_code, r.get_json()

    return job


def _sheets(app, round_id: int, entry_id: int) -> dict[int, tuple[str, int, dict[int, float]]]:
    with app.app_context():
        out = {
            sh.judge_id: (sh.state.value, sh.seq, {m.criterion_id: m.value for m in sh.marks})
            for sh in db.session.scalars(
                sa.select(Sheet).where(Sheet.round_id == round_id, Sheet.entry_id == entry_id)
            )
        }
        db.session.remove()
        return out


def _values(ids, meas: float, etq: int, emg: int) -> dict[str, str]:
    c_meas, c_etq, c_emg = ids["criteria"]
    return {f"c{c_meas}": f"{meas:g}", f"c{c_etq}": str(etq), f"c{c_emg}": str(emg)}


def test_a_panel_saving_at_the_same_moment_loses_nobodys_marks(venue):
    app, ids = venue
    entry_id, panel = next(iter(sorted(ids["panels"].items())))
    assert len(panel) == 3
    url = f"/competitions/rounds/{ids['round']}/mark/{entry_id}"
    devices = {judge: _device(app, ids["users"][user]) for judge, user in panel}
    expected: dict[int, dict[str, str]] = {}
    for r in range(1, ROUNDS + 1):
        jobs = []
        for k, judge in enumerate(devices):
            # each judge's own values, different in every round
            expected[judge] = _values(ids, (r + k) % 11, (r + k) % 4, (r * 2 + k) % 4)
            jobs.append(_post(devices[judge], url, {**expected[judge], "seq": str(r)}))
        answers = _at_once(jobs)
        for answer in answers:
            assert not isinstance(answer, Exception), answer
            status, body = answer
            assert status == 200 and body["stale"] is False, answer
    stored = _sheets(app, ids["round"], entry_id)
    c_meas, c_etq, c_emg = ids["criteria"]
    for judge, sent in expected.items():
        state, seq, marks = stored[judge]
        assert (state, seq) == ("draft", ROUNDS)
        assert marks == {c: float(sent[f"c{c}"]) for c in (c_meas, c_etq, c_emg)}

    # and all three submit at once
    answers = _at_once(
        [
            _post(devices[j], url, {**expected[j], "seq": str(ROUNDS + 1), "submit": "1"})
            for j in devices
        ]
    )
    assert all(a[0] == 200 and a[1]["submitted"] for a in answers), answers
    stored = _sheets(app, ids["round"], entry_id)
    assert {j: stored[j][0] for j in devices} == dict.fromkeys(devices, "submitted")
    assert {j: stored[j][2][c_meas] for j in devices} == {
        j: float(expected[j][f"c{c_meas}"]) for j in devices
    }
    with app.app_context():
        submitted = db.session.scalar(
            sa.select(sa.func.count(Sheet.id)).where(Sheet.state == SheetState.SUBMITTED)
        )
        db.session.remove()
    assert submitted == 3


def test_one_judge_on_two_devices_at_once_the_newer_seq_wins(venue):
    app, ids = venue
    # the judge with the most candidates: every first save creates the sheet from both devices
    by_judge: dict[int, list[int]] = {}
    for entry_id, panel in ids["panels"].items():
        for judge, _user in panel:
            by_judge.setdefault(judge, []).append(entry_id)
    judge = max(by_judge, key=lambda j: len(by_judge[j]))
    user = next(u for p in ids["panels"].values() for j, u in p if j == judge)
    phone, tablet = _device(app, ids["users"][user]), _device(app, ids["users"][user])
    for entry_id in sorted(by_judge[judge]):
        url = f"/competitions/rounds/{ids['round']}/mark/{entry_id}"
        newest = None
        for r in range(ROUNDS):
            # the phone sends the newer change in even rounds, the tablet in odd ones
            older, newer = 2 * r + 1, 2 * r + 2
            a = _values(ids, r % 11, r % 4, 0)
            b = _values(ids, (r + 5) % 11, (r + 1) % 4, 3)
            seqs = (newer, older) if r % 2 == 0 else (older, newer)
            answers = _at_once(
                [
                    _post(phone, url, {**a, "seq": str(seqs[0])}),
                    _post(tablet, url, {**b, "seq": str(seqs[1])}),
                ]
            )
            for answer in answers:
                assert not isinstance(answer, Exception), answer
                assert answer[0] == 200, answer
            newest = a if r % 2 == 0 else b
            sent = dict(zip(seqs, answers, strict=True))
            assert sent[newer][1]["stale"] is False, answers  # the older one: either
            _state, seq, marks = _sheets(app, ids["round"], entry_id)[judge]
            assert seq == newer
            assert marks == {c: float(newest[f"c{c}"]) for c in ids["criteria"]}
        with app.app_context():
            sheets = db.session.scalar(
                sa.select(sa.func.count(Sheet.id)).where(
                    Sheet.entry_id == entry_id, Sheet.judge_id == judge
                )
            )
            db.session.remove()
        assert sheets == 1
