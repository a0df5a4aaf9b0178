"""An answer the server acknowledged survives ``kill -9`` of the server (DESIGN.md §5).

The real app runs in a subprocess (waitress, production config: CSRF on) on a SQLite file,
and on PostgreSQL in a schema of its own when TEST_DATABASE_URL is set. Two candidates log in
over HTTP, start their attempts and save answers; in the middle of a burst of concurrent saves
the server gets SIGKILL. After a restart on the same database every acknowledged answer is
stored with its seq, nothing is half-written or someone else's, and saving goes on.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from academy.exams.models import Attempt, AttemptAnswer
from academy.extensions import db
from tests import factories
from tests.databases import BACKENDS, database_url, test_app
from tests.integration.test_exam_services import make_exam

ROOT = Path(__file__).resolve().parents[2]
SECRET = "durability-test-secret"
TEXT_QUESTIONS = 8


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path, worker_id):
    """A database URL nobody else uses, dropped afterwards."""
    with database_url(request.param, tmp_path / "exam.db", f"durability_{worker_id}") as url:
        yield url


def _prepare(url: str) -> dict:
    """Schema, two candidates and a published exam of text questions, committed."""
    app = test_app(url)
    with app.app_context():
        db.create_all()
        world = factories.build_world()
        other = world.west_agent_user
        questions = [
            factories.question(qtype="shortanswer" if i % 3 else "essay", item=world.item)
            for i in range(TEXT_QUESTIONS)
        ]
        exam = make_exam(questions=questions, shuffle_questions=False, attempts_allowed=1)
        db.session.commit()
        ids = {
            "exam": exam.id,
            "users": {
                world.agent_user.username: world.east_agent.id,
                other.username: world.west_agent.id,
            },
        }
        db.session.remove()
        db.engine.dispose()
    return ids


class Server:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.url,
            "SECRET_KEY": SECRET,
        }
        with self.log.open("ab") as log:  # the child keeps its own copy of the handle
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "waitress",
                    "--host=127.0.0.1",
                    f"--port={self.port}",
                    "--threads=6",
                    "--call",
                    "academy:create_app",
                ],
                cwd=str(ROOT),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the server did not answer within 30 s")

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no clean-up, no graceful shutdown
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Candidate:
    username: str
    agent_id: int
    server: Server
    opener: urllib.request.OpenerDirector = field(init=False)
    csrf: str = ""
    attempt_id: int = 0
    sent: dict[tuple[int, int], str] = field(default_factory=dict)  # (position, seq) → text
    acked: dict[int, int] = field(default_factory=dict)  # position → last acknowledged seq
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}{path}", data=body, headers=headers or {}
        )
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def token(self, page: str) -> str:
        return page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]

    def log_in_and_start(self, exam_id: int) -> None:
        _, form = self.request("/login")
        status, _ = self.request(
            "/login",
            {
                "csrf_token": self.token(form),
                "username": self.username,
                "password": factories.PASSWORD,
            },
        )
        assert status == 302
        status, page = self.request(f"/exams/{exam_id}")
        assert status == 200
        self.csrf = self.token(page)
        status, body = self.request(
            f"/exams/{exam_id}/start",
            {"csrf_token": self.csrf},
            {"Accept": "application/json"},
        )
        assert status == 200, body
        self.attempt_id = int(json.loads(body)["redirect"].rsplit("/", 1)[-1])

    def save(self, position: int, seq: int) -> bool:
        """Post one answer; True when the server acknowledged it (200, not stale)."""
        text = f"{self.username} 第{position}题 第{seq}次"
        with self.lock:
            self.sent[(position, seq)] = text
        status, body = self.request(
            f"/attempts/{self.attempt_id}/answers/{position}",
            {f"a{position}": text, "seq": str(seq)},
            {"X-CSRFToken": self.csrf, "Accept": "application/json"},
        )
        if status != 200 or json.loads(body)["stale"]:
            return False
        with self.lock:
            self.acked[position] = max(self.acked.get(position, 0), seq)
        return True


def _burst(candidate: Candidate, positions: list[int], acks: list[int]) -> None:
    """Save round the positions until the connection fails (the server is gone)."""
    seq = {p: candidate.acked.get(p, 0) for p in positions}
    while True:
        for p in positions:
            seq[p] += 1
            try:
                if not candidate.save(p, seq[p]):
                    return
            except (OSError, http.client.HTTPException, ValueError):
                # refused, reset, timed out or cut mid-response by the kill: this save may
                # or may not be stored (it was not acknowledged)
                return
            acks.append(1)


def _stored(url: str, attempt_id: int) -> tuple[int, dict[int, tuple]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    AttemptAnswer.position,
                    AttemptAnswer.seq,
                    AttemptAnswer.response,
                    AttemptAnswer.saved_at,
                ).where(AttemptAnswer.attempt_id == attempt_id)
            ).all()
            owner = conn.scalar(sa.select(Attempt.agent_id).where(Attempt.id == attempt_id))
    finally:
        engine.dispose()
    return owner, {r.position: (r.seq, r.response, r.saved_at) for r in rows}


def test_acknowledged_answers_survive_kill_9(database, tmp_path):
    server = Server(database, tmp_path / "server.log")
    server.launch()  # it touches no table until a request comes: boot it meanwhile
    try:
        ids = _prepare(database)
        server.wait_ready()
        cands = [Candidate(u, agent, server) for u, agent in ids["users"].items()]
        for c in cands:
            c.log_in_and_start(ids["exam"])
            for position in (1, 2, 3):  # answered one by one, each acknowledged
                assert c.save(position, 1)

        # A burst of concurrent saves from both candidates; SIGKILL in the middle of it.
        acks: list[int] = []
        halves = [list(range(1, 5)), list(range(5, TEXT_QUESTIONS + 1))]
        threads = [
            threading.Thread(target=_burst, args=(c, half, acks), daemon=True)
            for c in cands
            for half in halves
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(acks) < 40 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(acks) >= 40, "the burst did not get going"
        server.kill()
        for t in threads:
            t.join(timeout=15)
        assert not any(t.is_alive() for t in threads)

        # Every acknowledged answer is stored with its seq, whole and in the right attempt.
        for c in cands:
            owner, stored = _stored(database, c.attempt_id)
            assert owner == c.agent_id
            for position, last in c.acked.items():
                seq, response, saved_at = stored[position]
                assert seq >= last, f"{c.username} lost the answer to {position} (seq {last})"
                # A save in flight at the kill may be there (seq above the last ack) — but
                # only whole, and only as this candidate sent it.
                assert response == c.sent[(position, seq)] and saved_at is not None
            # A position never acknowledged is untouched — or holds the one save a burst
            # thread had in flight at the kill (its first, seq 1): whole and as sent. At most
            # one such save per thread.
            touched = [
                p
                for p in set(stored) - set(c.acked)
                if stored[p][0] != 0 or stored[p][1] is not None
            ]
            assert len(touched) <= len(halves), touched
            for position in touched:
                seq, response, saved_at = stored[position]
                assert seq == 1 and response == c.sent[(position, 1)] and saved_at is not None

        # Restarted on the same database, the candidates carry on where they were.
        server.start()
        for c in cands:
            _, before = _stored(database, c.attempt_id)
            position = 1
            next_seq = max(s for p, s in c.sent if p == position) + 1
            assert c.save(position, next_seq)
            status, page = c.request(f"/attempts/{c.attempt_id}")
            assert status == 200 and f"{c.username} 第1题 第{next_seq}次" in page
            _, after = _stored(database, c.attempt_id)
            assert after[position][0] == next_seq
            assert {p: v for p, v in after.items() if p != position} == {
                p: v for p, v in before.items() if p != position
            }
    finally:
        server.stop()
