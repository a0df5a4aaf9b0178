"""SQLite, the embedded default, under the concurrency of an ordinary exam room.

The real app is served by Werkzeug's threaded server (what ``make run`` starts) on a SQLite
file; threads released together by a barrier press 开始, autosave, submit one attempt ten
times and confirm one import five times. Before WAL + busy timeout + ``BEGIN IMMEDIATE``
for writing requests, these gave 500 "database is locked" (4 of 6 starts, 10 of 15
autosaves, 2 of 10 submits, 4 of 5 confirms). Now: no 5xx, and the outcome is the one a
single user would get (one attempt per candidate, the last save kept, one submission,
one import).
"""

from __future__ import annotations

import http.cookiejar
import io
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import yaml
from werkzeug.serving import make_server

from academy.auth.models import Role
from academy.content.loader import ContentDoc
from academy.exams.models import Attempt, AttemptAnswer, AttemptState
from academy.extensions import db
from academy.learning.models import ModuleProgress
from academy.learning.services import sync_modules
from academy.roster.excel import COLUMNS
from academy.roster.models import Agent
from academy.simulations.models import RunStep, SimRun
from tests import factories
from tests.content_samples import valid_module
from tests.databases import test_app
from tests.integration.test_exam_services import make_exam
from tests.simcases import load_case, sample_case

ROOT = Path(__file__).resolve().parents[2]
AGENTS = 6


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, files: dict | None = None):
        body, headers = None, {}
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for k, v in (data or {}).items():
                head = f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                parts.append(f"{head}{v}\r\n".encode())
            for k, (name, content) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; '
                    f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                    + content
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.read().decode("utf-8", "replace"), r.headers
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace"), err.headers

    def login(self, username: str) -> None:
        status, _, _ = self.request(
            "/login", {"username": username, "password": factories.PASSWORD}
        )
        assert status == 302, f"login of {username}: {status}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-concurrency")
    app = test_app(
        "sqlite:///" + str(folder / "academy.db"),
        CONTENT_ROOT=str(ROOT),
        EXAM_START_CONCURRENCY=100,
        LOGIN_MAX_FAILURES_PER_IP=10_000,
    )
    app.instance_path = str(folder)
    with app.app_context():
        db.create_all()
        world = factories.build_world()
        users = []
        for i in range(AGENTS):
            agent = factories.agent(world.east_village, f"考生{i}")
            users.append(factories.user(Role.AGENT, f"cand{i}", agent=agent).username)
        questions = [
            factories.question(qtype="multichoice", item=world.item),
            factories.question(qtype="truefalse", item=world.item),
        ]
        exam = make_exam(questions=questions, shuffle_questions=False, shuffle_answers=False)
        data = valid_module(world.item.slug)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        sync_modules([ContentDoc(f"courses/{world.item.slug}.yaml", data, text)])
        db.session.commit()
        case_slug = load_case(sample_case(world.item.slug)).slug
        exam_id = exam.id
        slug = world.item.slug
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "app": app,
            "base": f"http://127.0.0.1:{server.server_port}",
            "users": users,
            "exam": exam_id,
            "slug": slug,
            "case": case_slug,
        }
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


def together(calls) -> list:
    """Run the calls in threads released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _query(site, fn):
    with site["app"].app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _start(browser: Browser, exam_id: int):
    return browser.request(f"/exams/{exam_id}/start", {})


def test_a_room_presses_start_autosaves_and_submits(site):
    browsers = []
    for username in site["users"]:
        b = Browser(site["base"])
        b.login(username)
        browsers.append(b)
    exam_id = site["exam"]

    starts = together([lambda b=b: _start(b, exam_id) for b in browsers])
    assert [s for s, _, _ in starts] == [302] * AGENTS, [b[:200] for _, b, _ in starts]
    attempt_ids = [int(h["Location"].rsplit("/", 1)[-1]) for _, _, h in starts]
    assert len(set(attempt_ids)) == AGENTS  # one attempt each

    # Pressing 开始 again at once (a double click on a slow line) opens the same attempt.
    again = together([lambda b=browsers[0]: _start(b, exam_id) for _ in range(4)])
    assert {s for s, _, _ in again} == {302}
    assert {int(h["Location"].rsplit("/", 1)[-1]) for _, _, h in again} == {attempt_ids[0]}

    # 3 agents × 5 autosaves, all at once: every save acknowledged, the last seq kept.
    saves = []
    for b, attempt_id in list(zip(browsers, attempt_ids, strict=True))[:3]:
        for seq in range(1, 6):
            position = 1 + seq % 2
            value = "0" if position == 1 else ("true" if seq % 4 == 1 else "false")
            saves.append((b, attempt_id, position, seq, value))
    results = together(
        [
            lambda b=b, a=a, p=p, s=s, v=v: b.request(
                f"/attempts/{a}/answers/{p}", {f"a{p}": v, "seq": str(s)}
            )
            for b, a, p, s, v in saves
        ]
    )
    assert [s for s, _, _ in results] == [200] * len(saves), [r[1][:200] for r in results]

    def stored():
        rows = db.session.execute(
            sa.select(AttemptAnswer.attempt_id, AttemptAnswer.position, AttemptAnswer.seq).where(
                AttemptAnswer.attempt_id.in_(attempt_ids[:3])
            )
        )
        return {(a, p): s for a, p, s in rows}

    seqs = _query(site, stored)
    for attempt_id in attempt_ids[:3]:
        assert seqs[(attempt_id, 1)] == 4 and seqs[(attempt_id, 2)] == 5

    # One attempt submitted ten times at once: submitted once, never a 5xx.
    target = attempt_ids[3]
    submits = together(
        [lambda: browsers[3].request(f"/attempts/{target}/submit", {}) for _ in range(10)]
    )
    statuses = Counter(s for s, _, _ in submits)
    assert all(s < 500 for s in statuses), statuses
    assert statuses[302] >= 1

    def attempt_state():
        attempt = db.session.get(Attempt, target)
        return attempt.state, attempt.submitted_at is not None

    state, submitted = _query(site, attempt_state)
    assert state == AttemptState.GRADED and submitted


def _roster_file(name: str) -> bytes:
    values = dict.fromkeys(COLUMNS, "")
    values.update(
        {
            "镇街": "东镇",
            "村社": "东二村",
            "姓名": name,
            "联系电话": "13900007777",
            "身份": "专职代办员",
            "到岗日期": "2026-01-05",
        }
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    sheet.append([values[c] for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_pages_that_write_on_get_do_not_collide_with_writers(site):
    """Opening a module records progress (a write inside a GET): it takes the write lock
    before writing instead of failing to upgrade its read transaction."""
    browsers = []
    for username in site["users"]:
        b = Browser(site["base"])
        b.login(username)
        browsers.append(b)
    calls = [lambda b=b: b.request(f"/learn/{site['slug']}") for b in browsers]
    calls += [lambda b=b: b.request("/account/password", {"current": "x"}) for b in browsers]
    results = together(calls)
    assert [s for s, _, _ in results[: len(browsers)]] == [200] * len(browsers)
    assert all(s < 500 for s, _, _ in results)
    count = _query(
        site,
        lambda: db.session.scalar(sa.select(sa.func.count()).select_from(ModuleProgress)),
    )
    assert count == len(browsers)


def test_the_server_names_no_software_version(site):
    with urllib.request.urlopen(site["base"] + "/login", timeout=10) as r:
        assert r.headers["Server"] == "academy"


def test_one_import_confirmed_five_times_at_once_is_imported_once(site):
    admin = Browser(site["base"])
    admin.login("admin-t")
    status, page, _ = admin.request(
        "/roster/import", {}, files={"file": ("花名册.xlsx", _roster_file("并发导入"))}
    )
    assert status == 200, page[:500]
    token = page.split('name="token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    confirms = together(
        [lambda: admin.request("/roster/import/confirm", {"token": token}) for _ in range(5)]
    )
    statuses = Counter(s for s, _, _ in confirms)
    assert all(s < 500 for s in statuses), (statuses, [b[:300] for _, b, _ in confirms])

    count = _query(
        site,
        lambda: db.session.scalar(
            sa.select(sa.func.count()).select_from(Agent).where(Agent.name == "并发导入")
        ),
    )
    assert count == 1


def test_the_same_simulation_step_posted_five_times_at_once_is_taken_once(site):
    """A double tap on a phone, five times over: the step's guarded UPDATE lets one post
    through; the others are told it was already answered — no 5xx, one step stored."""
    agent = Browser(site["base"])
    agent.login(site["users"][-1])
    status, _, headers = agent.request(f"/simulations/{site['case']}/start", {"fresh": "1"})
    assert status == 302, status
    run_id = int(headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    first = _query(site, lambda: db.session.get(SimRun, run_id).current_step)
    posts = together(
        [
            lambda: agent.request(f"/simulations/runs/{run_id}/step", {"seq": "0", "step": first})
            for _ in range(5)
        ]
    )
    statuses = Counter(s for s, _, _ in posts)
    assert statuses == Counter({302: 1, 409: 4}), (statuses, [b[:300] for _, b, _ in posts])
    seq, steps = _query(
        site,
        lambda: (
            db.session.get(SimRun, run_id).seq,
            db.session.scalar(
                sa.select(sa.func.count()).select_from(RunStep).where(RunStep.run_id == run_id)
            ),
        ),
    )
    assert (seq, steps) == (1, 1)
