"""Exam-day load benchmark (DESIGN.md §5): N candidates log in, start within a spike window,
autosave every few seconds and submit, against the real app served by gunicorn or waitress on
PostgreSQL; then every acknowledged answer is checked in the database. Reported, not asserted.

    python -m tests.bench.exam_day --candidates 200
    python -m tests.bench.exam_day --candidates 200,500,1000,2000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m tests.bench.exam_day --candidates 200 --server waitress --threads 8
    python -m tests.bench.exam_day --candidates 200 --compare-events
    python -m tests.bench.exam_day --candidates 50 --server flask --database-url sqlite://

``--database-url sqlite://`` (or ``sqlite:///path/prefix``) runs on a SQLite file per N, the
embedded default; ``--server flask`` serves with ``flask run`` (threaded), as ``make run`` does.

Per N (each in a fresh schema ``bench_exam_day_<N>``, dropped afterwards unless ``--keep``):

Set-up (timed, not part of the numbers): the schema from the migrations, ``content sync`` of the
shipped content, N agents with postings and AGENT users (bulk INSERTs, one shared password hash),
one published exam (all questions on one page) whose blueprint draws ``--questions`` questions
40/40/20 % across difficulties 1/2/3 from the shipped banks. The server runs as a subprocess on
a free port with DATABASE_URL, SECRET_KEY and the production config (CSRF on).

Load (asyncio + aiohttp, one cookie jar per candidate, one shared connection pool):
  1. login window (``--login-window``, 60 s): each candidate at a random moment GETs /login,
     POSTs it (csrf_token, username, password) and opens the exam page;
  2. start spike (``--spike``, 60 s): each candidate presses 开始 at a random moment of the
     window (``Accept: application/json``; a 503 from the start gate is followed with its ticket
     after ``retry_after``), then opens the attempt page and parses its fieldsets;
  3. save phase: from its start until ``--duration`` seconds after the spike, each candidate
     saves one random answer every ``--save-interval`` s (± 20 %) with a valid random response
     for its type (options parsed from the page), seq incremented per position as exam.js does;
  4. submit: spread over ``--submit-window`` (20 s) after the save phase.
``--compare-events`` runs the save phase twice: with LEARNING_EVENTS=1 in the server's
environment, then (server restarted, sessions survive: they are signed cookies) with
LEARNING_EVENTS=0, and reports both.

Verification: every acknowledged save (200, not stale) is remembered with what the client sent;
afterwards each attempt must belong to the candidate who started it and each position must hold
the last acknowledged seq and response of that candidate (or a later save whose answer never
came back, e.g. a timeout). Lost and misattributed answers are counted and printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.bench.province import (
    REPO_ROOT,
    build_schema,
    load_reference_content,
    make_app,
    recreate_schema,
    schema_url,
)

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench2026"
SECRET_KEY = "exam-day-bench-secret"
SAVE_BUDGET_MS = 50.0
QUIET_CORES = 0.25  # "others quiet": other users' jobs took less than this many cores
OPS = ("login", "exam", "start", "admitted", "page", "save", "submit")
OP_LABELS = {
    "login": "login (POST /login)",
    "exam": "exam page",
    "start": "start (each POST)",
    "admitted": "start → admitted",
    "page": "attempt page",
    "save": "save",
    "submit": "submit",
}


# --------------------------------------------------------------------------------------
# set-up
# --------------------------------------------------------------------------------------


@dataclass
class Setup:
    url: str
    exam_id: int
    candidates: list[tuple[str, int, int]]  # username, user id, agent id
    seconds: float
    schema_how: str
    spare: list[tuple[str, int, int]] = field(default_factory=list)


def seed_agents(
    county_name: str, usernames: list[str], name: str, phone_prefix: str, townships: int = 1
) -> tuple[list[int], list[int]]:
    """A county of ``townships`` townships, two agents a village, each agent active with a
    login of ``usernames`` and the bench's PASSWORD (one hash shared: seeding stays fast).
    Returns (agent ids, user ids) in the order of ``usernames``; flushed, not committed."""
    from academy.auth.models import Role, User
    from academy.bulk import insert_ids
    from academy.extensions import db
    from academy.regions.models import (
        County,
        StationTier,
        Township,
        TownshipKind,
        Village,
        VillageKind,
    )
    from academy.roster.models import Agent, AgentKind, Posting

    n = len(usernames)
    county = County(name=county_name)
    db.session.add(county)
    db.session.flush()
    township_ids = insert_ids(
        Township,
        [
            {
                "county_id": county.id,
                "name": f"基准{t + 1}镇",
                "kind": TownshipKind.TOWN,
                "position": t,
            }
            for t in range(townships)
        ],
        ("name",),
    )
    n_villages = max(1, math.ceil(n / 2))
    village_ids = insert_ids(
        Village,
        [
            {
                "township_id": township_ids[v % townships],
                "name": f"基准{v + 1}村",
                "kind": VillageKind.VILLAGE,
                "tier": StationTier.STANDARD,
            }
            for v in range(n_villages)
        ],
        ("name",),
    )
    agent_ids = insert_ids(
        Agent,
        [{"name": f"{name}{i + 1:05d}", "phone": f"{phone_prefix}{i + 1:08d}"} for i in range(n)],
        ("phone",),
    )
    joined = date.today() - timedelta(days=200)
    db.session.execute(
        sa.insert(Posting),
        [
            {
                "agent_id": a,
                "village_id": village_ids[i % n_villages],
                "kind": AgentKind.FULL_TIME,
                "joined_on": joined,
            }
            for i, a in enumerate(agent_ids)
        ],
    )
    probe = User(username="probe", display_name="probe", role=Role.AGENT)
    probe.set_password(PASSWORD)  # one scrypt hash, shared by every user
    user_ids = insert_ids(
        User,
        [
            {
                "username": u,
                "display_name": f"{name}{i + 1:05d}",
                "password_hash": probe.password_hash,
                "role": Role.AGENT,
                "agent_id": a,
                "active": True,
                "session_version": 1,
            }
            for i, (u, a) in enumerate(zip(usernames, agent_ids, strict=True))
        ],
        ("username",),
    )
    return agent_ids, user_ids


def prepare(url: str, n: int, questions: int, minutes: int, spare: int = 0) -> Setup:
    """Schema, content, N agents with users (and ``spare`` more, kept out of the load for the
    fixed-concurrency comparison), and one published exam; committed."""
    from academy.extensions import db

    started = time.perf_counter()
    app = make_app(url)
    with app.app_context():
        how = build_schema(app)
        load_reference_content()
        cands = seed_candidates(n + spare)
        exam_id = seed_exam(questions, minutes)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return Setup(url, exam_id, cands[:n], time.perf_counter() - started, how, cands[n:])


def seed_candidates(n: int) -> list[tuple[str, int, int]]:
    """N candidates ``cand00001…`` (username, user id, agent id), 40 to a township."""
    usernames = [f"cand{i + 1:05d}" for i in range(n)]
    agent_ids, user_ids = seed_agents(
        "考试日基准县", usernames, "考生", "139", townships=max(1, math.ceil(n / 40))
    )
    return list(zip(usernames, user_ids, agent_ids, strict=True))


def seed_exam(questions: int, minutes: int) -> int:
    """One published exam, all on one page, drawing ``questions`` questions 40/40/20 % from
    difficulties 1/2/3 of every shipped bank; flushed, its id returned."""
    from academy.db import utcnow
    from academy.exams import services
    from academy.exams.models import Exam, ExamSection, ExamStatus, Layout
    from academy.extensions import db

    d1 = round(questions * 0.4)
    d2 = round(questions * 0.4)
    exam = Exam(
        title="考试日基准：业务知识综合测试",
        description="负载基准用考试。",
        status=ExamStatus.PUBLISHED,
        time_limit_minutes=min(600, minutes),
        attempts_allowed=1,
        pass_percent=60.0,
        layout=Layout.ALL_ON_ONE,
        shuffle_questions=True,
        shuffle_answers=True,
        published_at=utcnow(),
    )
    exam.sections = [
        ExamSection(
            position=1,
            title="综合",
            points=2.0,
            item_ids=[],
            qtypes=[],
            question_ids=[],
            counts={"1": d1, "2": d2, "3": questions - d1 - d2},
        )
    ]
    db.session.add(exam)
    db.session.flush()
    problems = services.blueprint_problems(exam)
    if problems:
        raise SystemExit("exam blueprint cannot be drawn: " + " ".join(problems))
    return exam.id


# --------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in task.read_text().split()]
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def pg_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database`` (their process title names it)."""
    needle = f" {database} ".encode()
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            title = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and needle in title:
            out.append(int(d.name))
    return out


class CpuMeter:
    """CPU seconds used by groups of processes, sampled every second so that processes
    which come and go (a restarted server, new PostgreSQL backends) are counted too."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.first: dict[str, dict[int, int]] = {g: {} for g in groups}
        self.last: dict[str, dict[int, int]] = {g: {} for g in groups}
        self.samples = 0
        self.prev: tuple[float, float, float] | None = None
        # (from, to, cores): what everything else on the machine used between two samples
        # (other users' jobs): busy CPU minus the generator, the server and its backends.
        self.others: list[tuple[float, float, float]] = []

    def sample(self, at: float | None = None) -> None:
        for group, pids in self.groups.items():
            for pid in pids():
                ticks = _ticks(pid)
                if not ticks:
                    continue
                # Seen at the first sample: count from there; appeared later: from its start.
                self.first[group].setdefault(pid, ticks if self.samples == 0 else 0)
                self.last[group][pid] = ticks
        self.samples += 1
        if at is None:
            return
        busy = machine_ticks()[0] / os.sysconf("SC_CLK_TCK")
        ours = time.process_time() + sum(self.seconds(g) for g in self.groups)
        if self.prev is not None and at > self.prev[0]:
            t, b, o = self.prev
            self.others.append((t, at, max(0.0, (busy - b) - (ours - o)) / (at - t)))
        self.prev = (at, busy, ours)

    def others_between(self, a: float, b: float) -> float:
        """Mean cores that everything else used between a and b."""
        parts = [(min(b, t1) - max(a, t0), c) for t0, t1, c in self.others if t1 > a and t0 < b]
        total = sum(w for w, _ in parts)
        return sum(w * c for w, c in parts) / total if total else float("nan")

    def others_at(self, times: list[float]) -> list[float]:
        """The others' CPU (cores) in the sample interval around each moment."""
        import bisect

        starts = [t for t, _, _ in self.others]
        out = []
        for t in times:
            i = bisect.bisect_right(starts, t) - 1
            out.append(self.others[i][2] if 0 <= i < len(self.others) else float("nan"))
        return out

    def seconds(self, group: str) -> float:
        first, last = self.first[group], self.last[group]
        return sum(last[p] - first[p] for p in last) / os.sysconf("SC_CLK_TCK")


APP_FACTORY = "academy:create_app"


class Server:
    def __init__(
        self,
        kind: str,
        url: str,
        workers: int,
        threads: int,
        n: int,
        log_dir: Path,
        factory: str = APP_FACTORY,
        worker_class: str | None = None,
    ):
        self.kind, self.url, self.workers, self.threads = kind, url, workers, threads
        self.n = n
        self.factory = factory  # "module:function" returning the WSGI app
        self.worker_class = worker_class  # gunicorn -k (default: sync, or gthread with threads)
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        if self.kind == "flask":
            return "flask run (Werkzeug, a thread per request), as make run serves"
        if self.kind == "waitress":
            return f"waitress, 1 process × {self.threads} threads"
        if self.worker_class:
            return f"gunicorn, {self.workers} {self.worker_class} workers"
        if self.threads > 1:
            return f"gunicorn, {self.workers} gthread workers × {self.threads} threads"
        return f"gunicorn, {self.workers} sync workers"

    def command(self) -> list[str]:
        if self.kind == "flask":
            return [
                sys.executable,
                "-m",
                "flask",
                "--app",
                self.factory,
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
        if self.kind == "waitress":
            return [
                sys.executable,
                "-m",
                "waitress",
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--threads={self.threads}",
                # Every candidate holds a keep-alive connection, as a browser does: the
                # default limit (100) would park the rest in the accept queue.
                f"--connection-limit={max(100, self.n + 50)}",
                "--asyncore-use-poll",
                "--call",
                self.factory,
            ]
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            str(self.workers),
            "--backlog",
            "4096",
            "--timeout",
            "60",
        ]
        if self.worker_class:
            cmd += ["-k", self.worker_class, "--worker-connections", str(max(100, self.n + 50))]
        elif self.threads > 1:
            cmd += ["-k", "gthread", "--threads", str(self.threads)]
        return [*cmd, f"{self.factory}()"]

    def start(self, env_extra: dict[str, str]) -> float:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "DATABASE_URL": self.url,
            "SECRET_KEY": SECRET_KEY,
            "CONTENT_ROOT": str(REPO_ROOT),
            **env_extra,
        }
        env.pop("FLASK_DEBUG", None)
        self.env = env_extra
        self.starts += 1
        self.log = self.log_dir / f"server-{self.starts}.log"
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=str(REPO_ROOT),
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return time.perf_counter() - started

    @property
    def ready_path(self) -> str:
        return "/login" if self.factory == APP_FACTORY else "/rows"

    def _wait_ready(self, timeout: float = 90.0) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        ok = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited at start:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base + self.ready_path, timeout=5) as r:
                    ok += r.status == 200
            except urllib.error.HTTPError as err:  # the reference app answers GET with 405
                ok += err.code == 405
            except OSError:
                time.sleep(0.2)
                continue
            # Every worker must have booted (and imported the app) before the clock runs.
            booted = (
                self.kind in ("waitress", "flask") or len(_children(self.proc.pid)) >= self.workers
            )
            if booted and ok >= 3:
                for _ in range(3 * self.workers):
                    with contextlib.suppress(urllib.error.HTTPError):
                        urllib.request.urlopen(self.base + self.ready_path, timeout=10).close()
                return
            time.sleep(0.2)
        raise SystemExit(f"server did not answer within {timeout:.0f} s:\n{self.tail()}")

    def pids(self) -> list[int]:
        return [self.proc.pid, *_children(self.proc.pid)] if self.proc else []

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn: graceful, lets requests finish
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Cluster:
    """Several app instances (each a Server) behind one port: the bench's TCP balancer
    (tests/bench/balancer.py) hands connections round-robin to them — how a province exam
    day runs stateless instances behind a load balancer. With more than one instance the
    admission gate and the login throttle live in Redis (REDIS_URL), shared by all."""

    def __init__(self, servers: list[Server], log_dir: Path, redis_url: str | None):
        self.servers = servers
        self.port = free_port()
        self.log_dir = log_dir
        self.redis_url = redis_url
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return (
            f"{len(self.servers)} instances × ({self.servers[0].describe()}) behind a TCP balancer"
        )

    def start(self, env_extra: dict[str, str]) -> float:
        started = time.perf_counter()
        self.env = env_extra
        env = {**env_extra, **({"REDIS_URL": self.redis_url} if self.redis_url else {})}
        for server in self.servers:
            server.start(env)
        backends = [f"--backend=127.0.0.1:{s.port}" for s in self.servers]
        self.log = self.log_dir / "balancer.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.balancer", f"--listen={self.port}", *backends],
            cwd=str(REPO_ROOT),
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                break
            time.sleep(0.1)
        return time.perf_counter() - started

    def pids(self) -> list[int]:
        own = [self.proc.pid] if self.proc and self.proc.poll() is None else []
        return own + [p for s in self.servers for p in s.pids()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        for server in self.servers:
            server.stop()

    def tail(self, lines: int = 30) -> str:
        parts = [f"-- instance {i + 1}:\n{s.tail(lines)}" for i, s in enumerate(self.servers)]
        with contextlib.suppress(OSError):
            parts.append("-- balancer:\n" + self.log.read_text(errors="replace"))
        return "\n".join(parts)


# --------------------------------------------------------------------------------------
# what the attempt page offers
# --------------------------------------------------------------------------------------

FIELDSET = re.compile(
    r'<fieldset class="question card" id="q\d+" data-position="(\d+)" data-seq="(\d+)"'
    r' data-qtype="([a-z]+)">(.*?)</fieldset>',
    re.S,
)
CHOICE = re.compile(r'<input type="(radio|checkbox)" name="(a[\d-]+)" value="([^"]*)"')
TEXT = re.compile(r'<(?:input type="text"|textarea) name="(a\d+)"')
SELECT = re.compile(r'<select name="(a\d+-(\d+))"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"')
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CSRF_ALT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_of(page: str) -> str | None:
    m = CSRF.search(page) or CSRF_ALT.search(page)
    return m.group(1) if m else None


@dataclass
class Question:
    position: int
    qtype: str
    name: str
    choices: list[str] = field(default_factory=list)  # multichoice / truefalse values
    multi: bool = False
    selects: list[tuple[int, list[str]]] = field(default_factory=list)  # (k, options)


def parse_attempt(page: str) -> tuple[list[Question], dict[int, int]]:
    questions, seqs = [], {}
    for pos, seq, qtype, body in FIELDSET.findall(page):
        position = int(pos)
        seqs[position] = int(seq)
        if qtype == "description":
            continue
        q = Question(position, qtype, f"a{position}")
        if qtype in ("multichoice", "truefalse"):
            for kind, name, value in CHOICE.findall(body):
                if name == q.name:
                    q.choices.append(html.unescape(value))
                    q.multi = kind == "checkbox"
        elif qtype in ("matching", "ordering"):
            for _name, k, options in SELECT.findall(body):
                values = [html.unescape(v) for v in OPTION.findall(options) if v]
                q.selects.append((int(k), values))
            q.selects.sort()
        elif not TEXT.search(body):
            continue
        questions.append(q)
    return questions, seqs


ESSAY = (
    "先核对村民的身份证和户口簿原件，告诉他需要带齐的材料，一次性告知办理渠道和时限；"
    "材料不全的，登记缺少的材料并约定补交时间，能网上办的当场帮他在浙里办提交。"
)


def make_answer(q: Question, rng: random.Random, who: int, seq: int):
    """(form fields, the response the server should store) — a valid random answer."""
    if q.qtype == "multichoice":
        if q.multi:
            chosen = rng.sample(q.choices, rng.randint(1, len(q.choices)))
        else:
            chosen = [rng.choice(q.choices)]
        return [(q.name, v) for v in chosen], [int(v) for v in chosen]
    if q.qtype == "truefalse":
        value = rng.choice(q.choices)
        return [(q.name, value)], value == "true"
    if q.qtype == "numerical":
        value = f"{rng.randint(0, 9999)}.{seq % 10}"
        return [(q.name, value)], value
    if q.qtype == "shortanswer":
        value = f"考生{who}第{seq}次作答"
        return [(q.name, value)], value
    if q.qtype == "essay":
        value = f"考生{who}第{seq}次作答：" + ESSAY * rng.randint(1, 3)
        return [(q.name, value)], value
    if q.qtype == "matching":
        picked = [rng.choice(options) if rng.random() > 0.1 else "" for _, options in q.selects]
        if not any(picked):
            picked[0] = q.selects[0][1][0]
        fields = [(f"{q.name}-{k}", v) for (k, _), v in zip(q.selects, picked, strict=True)]
        return fields, [v or None for v in picked]
    if q.qtype == "ordering":
        n = len(q.selects)
        steps = list(range(1, n + 1))
        rng.shuffle(steps)
        positions: list[int | None] = list(steps)
        if rng.random() < 0.2:
            positions[rng.randrange(n)] = None  # not finished yet: kept as partial
        fields = [
            (f"{q.name}-{k}", str(p) if p else "")
            for (k, _), p in zip(q.selects, positions, strict=True)
        ]
        if None in positions:
            return fields, {"partial": positions}
        return fields, sorted(range(n), key=lambda k: positions[k])
    raise ValueError(q.qtype)


# --------------------------------------------------------------------------------------
# the load
# --------------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)  # served (ok + queued), ms
        self.outcomes: dict[str, Counter] = defaultdict(Counter)
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.phase_lat: dict[str, list[float]] = defaultdict(list)  # save latency by phase
        self.save_points: list[tuple[float, float]] = []  # (loop time answered, ms) of saves
        self.stale = 0

    def add(self, op: str, ms: float, outcome: str, example: str | None = None) -> None:
        self.outcomes[op][outcome] += 1
        if outcome != "error":
            self.lat[op].append(ms)
        elif example and len(self.examples[op]) < 5 and example not in self.examples[op]:
            self.examples[op].append(example)


@dataclass
class Plan:
    login_window: float
    spike: float
    duration: float
    interval: float
    submit_window: float
    compare: bool


@dataclass
class Candidate:
    index: int
    username: str
    user_id: int
    agent_id: int
    attempt_id: int | None = None
    csrf: str | None = None
    questions: list[Question] = field(default_factory=list)
    seq: dict[int, int] = field(default_factory=dict)
    sent: dict[int, dict[int, tuple]] = field(default_factory=lambda: defaultdict(dict))
    acked: dict[int, int] = field(default_factory=dict)  # position → last acknowledged seq
    doubt: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    submitted: bool = False


class Phases:
    """The save phases' ends, and the switch between them (--compare-events)."""

    def __init__(self, ends: list[float]) -> None:
        self.ends = ends
        self.ready = [asyncio.Event() for _ in ends]
        self.ready[0].set()
        self.current = 0


async def _request(
    session, method, url, op, stats, *, expect, data=None, headers=None, header=None
):
    """One timed request. Returns (status, text) — with ``header``, (status, that response
    header's value) — or (None, None) on connection errors."""
    t0 = time.perf_counter()
    try:
        async with session.request(
            method, url, data=data, headers=headers, allow_redirects=False
        ) as r:
            text = await r.text()
            status = r.status
            if header is not None and status in expect:
                text = r.headers.get(header, "")
    except Exception as err:  # connection refused/reset, timeouts: errors of the run
        ms = (time.perf_counter() - t0) * 1000
        stats.add(op, ms, "error", f"{err.__class__.__name__}: {str(err)[:120]}")
        return None, None
    ms = (time.perf_counter() - t0) * 1000
    if status in expect:
        stats.add(op, ms, "ok")
    elif op == "start" and status == 503:
        stats.add(op, ms, "queued")
    else:
        stats.add(op, ms, "error", f"HTTP {status}: {text[:160].strip()!r}")
    return status, text


async def candidate_run(c, base, exam_id, plan, phases, t0, stats, connector, rng):
    import aiohttp

    loop = asyncio.get_running_loop()

    async def until(at: float) -> None:
        delay = t0 + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    jar = aiohttp.CookieJar(unsafe=True)  # unsafe: cookies for an IP address host
    async with aiohttp.ClientSession(
        base_url=base,
        connector=connector,
        connector_owner=False,
        cookie_jar=jar,
        timeout=aiohttp.ClientTimeout(total=60),
    ) as s:
        # 1. log in and open the exam page
        await until(rng.uniform(0, plan.login_window))
        try:
            async with s.get("/login") as r:
                form = await r.text()
        except Exception as err:
            stats.add("login", 0.0, "error", f"GET /login {err.__class__.__name__}")
            return
        status, _ = await _request(
            s,
            "POST",
            "/login",
            "login",
            stats,
            expect=(302,),
            data={"csrf_token": csrf_of(form) or "", "username": c.username, "password": PASSWORD},
        )
        if status != 302:
            return
        status, page = await _request(s, "GET", f"/exams/{exam_id}", "exam", stats, expect=(200,))
        if status != 200:
            return
        csrf = csrf_of(page) or ""

        # 2. start within the spike window, following the queue
        await until(plan.login_window + rng.uniform(0, plan.spike))
        first = time.perf_counter()
        ticket = None
        while True:
            data = {"csrf_token": csrf}
            if ticket is not None:
                data["ticket"] = str(ticket)
            status, text = await _request(
                s,
                "POST",
                f"/exams/{exam_id}/start",
                "start",
                stats,
                expect=(200,),
                data=data,
                headers={"Accept": "application/json"},
            )
            if status == 503:
                try:
                    body = json.loads(text)
                    ticket, wait = body["ticket"], float(body["retry_after"])
                except (ValueError, KeyError):
                    stats.add("admitted", 0.0, "error", "503 without a ticket")
                    return
                await asyncio.sleep(wait * rng.uniform(0.9, 1.1))
                continue
            break
        if status != 200:
            stats.add("admitted", (time.perf_counter() - first) * 1000, "error", f"HTTP {status}")
            return
        stats.add("admitted", (time.perf_counter() - first) * 1000, "ok")
        target = json.loads(text)["redirect"]
        c.attempt_id = int(target.rstrip("/").rsplit("/", 1)[-1])
        status, page = await _request(s, "GET", target, "page", stats, expect=(200,))
        if status != 200:
            return
        c.csrf = csrf_of(page)
        c.questions, c.seq = parse_attempt(page)
        if not c.questions:
            stats.add("page", 0.0, "error", "attempt page without questions")
            return
        headers = {"X-CSRFToken": c.csrf or "", "Accept": "application/json"}
        spike_end = plan.login_window + plan.spike

        # 3. autosave until the end of each save phase
        for phase, _ in enumerate(phases.ends):
            await phases.ready[phase].wait()
            await asyncio.sleep(rng.uniform(0, plan.interval))
            while loop.time() < t0 + phases.ends[phase]:
                q = rng.choice(c.questions)
                seq = c.seq.get(q.position, 0) + 1
                c.seq[q.position] = seq
                fields, expected = make_answer(q, rng, c.index, seq)
                flagged = rng.random() < 0.1
                c.sent[q.position][seq] = (expected, flagged)
                body = [*fields, ("seq", str(seq)), ("flag", "1" if flagged else "0")]
                t_req = time.perf_counter()
                status, text = await _request(
                    s,
                    "POST",
                    f"/attempts/{c.attempt_id}/answers/{q.position}",
                    "save",
                    stats,
                    expect=(200,),
                    data=body,
                    headers=headers,
                )
                ms = (time.perf_counter() - t_req) * 1000
                if status == 200:
                    part = "spike" if loop.time() < t0 + spike_end else "steady"
                    stats.phase_lat[f"{phase}:{part}"].append(ms)
                    stats.save_points.append((loop.time(), ms))
                    if '"stale":false' in text.replace(" ", ""):
                        c.acked[q.position] = seq
                    else:
                        stats.stale += 1
                elif status is None or status >= 500:
                    c.doubt[q.position].add(seq)  # may or may not have been stored
                await asyncio.sleep(plan.interval * rng.uniform(0.8, 1.2))

        # 4. submit, spread over the submit window
        await until(phases.ends[-1] + rng.uniform(0, plan.submit_window))
        status, _ = await _request(
            s,
            "POST",
            f"/attempts/{c.attempt_id}/submit",
            "submit",
            stats,
            expect=(302,),
            data={"csrf_token": c.csrf or ""},
        )
        c.submitted = status == 302


async def monitor(lag: list[float], meter: CpuMeter, stop: asyncio.Event) -> None:
    """The generator's event-loop lag (every 0.1 s) and a CPU sample (every second)."""
    loop = asyncio.get_running_loop()
    ticks = 0
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.1)
        lag.append((loop.time() - t - 0.1) * 1000)
        ticks += 1
        if ticks % 10 == 0:
            meter.sample(loop.time())


@dataclass
class LoadResult:
    stats: Stats
    candidates: list[Candidate]
    wall: float
    generator_cpu: float  # seconds
    server_cpu: float  # seconds
    postgres_cpu: float  # seconds, backends connected to the benchmark's database
    machine_busy: float  # seconds of busy CPU (all cores)
    lag: list[float]
    phase_walls: list[float]
    meter: CpuMeter
    t0: float
    restart_s: float = 0.0


async def run_load(setup: Setup, server: Server, plan: Plan, seed: int) -> LoadResult:
    import aiohttp

    loop = asyncio.get_running_loop()
    rng_master = random.Random(seed)
    cands = [Candidate(i + 1, u, uid, aid) for i, (u, uid, aid) in enumerate(setup.candidates)]
    stats = Stats()
    save_start = plan.login_window + plan.spike
    ends = [save_start + plan.duration]
    if plan.compare:
        ends.append(float("inf"))  # set when the second server is up
    phases = Phases(ends)
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    database = sa.engine.make_url(setup.url).database or ""
    pg = setup.url.startswith("postgresql")
    meter = CpuMeter(
        {"server": server.pids, "postgres": lambda: pg_backends(database) if pg else []}
    )
    lag: list[float] = []
    stop = asyncio.Event()

    cpu0 = time.process_time()
    busy0, _ = machine_ticks()
    meter.sample(loop.time())
    monitor_task = asyncio.create_task(monitor(lag, meter, stop))
    t0 = loop.time()
    tasks = [
        asyncio.create_task(
            candidate_run(
                c,
                server.base,
                setup.exam_id,
                plan,
                phases,
                t0,
                stats,
                connector,
                random.Random(rng_master.random()),
            )
        )
        for c in cands
    ]
    restart_s = 0.0
    phase_walls = [plan.duration]
    if plan.compare:
        # Let the last saves of the first phase finish, then restart the server with the
        # event log off. The sessions are signed cookies: the candidates stay logged in.
        await asyncio.sleep(max(0.0, t0 + ends[0] - loop.time()) + 2.0)
        meter.sample()
        r0 = time.perf_counter()
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start, {**server.env, "LEARNING_EVENTS": "0"})
        restart_s = time.perf_counter() - r0
        meter.sample()
        phases.ends[1] = loop.time() - t0 + plan.duration
        phase_walls.append(plan.duration)
        phases.ready[1].set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    wall = loop.time() - t0
    stop.set()
    await monitor_task
    meter.sample(loop.time())
    busy1, _ = machine_ticks()
    gen_cpu = time.process_time() - cpu0
    await connector.close()
    for r in results:
        if isinstance(r, BaseException):
            stats.add("save", 0.0, "error", f"client bug: {r!r}"[:200])
    return LoadResult(
        stats,
        cands,
        wall,
        gen_cpu,
        meter.seconds("server"),
        meter.seconds("postgres"),
        (busy1 - busy0) / os.sysconf("SC_CLK_TCK"),
        lag,
        phase_walls,
        meter,
        t0,
        restart_s,
    )


# --------------------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------------------


@dataclass
class Verdict:
    acknowledged: int
    checked_positions: int
    lost: list[str]
    misattributed: list[str]
    in_doubt_stored: int
    attempts: int


def verify(setup: Setup, load: LoadResult) -> Verdict:
    engine = sa.create_engine(setup.url)
    started = {c.attempt_id: c for c in load.candidates if c.attempt_id}
    lost, wrong = [], []
    in_doubt_stored = 0
    with engine.connect() as conn:
        attempts = conn.execute(
            sa.text("SELECT id, agent_id, user_id FROM exam_attempt WHERE exam_id = :e"),
            {"e": setup.exam_id},
        ).all()
        owners = {a.id: (a.agent_id, a.user_id) for a in attempts}
        for attempt_id, c in started.items():
            owner = owners.get(attempt_id)
            if owner != (c.agent_id, c.user_id):
                wrong.append(
                    f"attempt {attempt_id} started by {c.username} (agent {c.agent_id}) "
                    f"belongs to {owner}"
                )
        mine = Counter(a.agent_id for a in attempts)
        for agent_id, count in mine.items():
            if count > 1:
                wrong.append(f"agent {agent_id} has {count} attempts")
        rows = conn.execute(
            sa.text(
                "SELECT a.attempt_id, a.position, a.seq, a.response, a.flagged "
                "FROM attempt_answer a JOIN exam_attempt t ON t.id = a.attempt_id "
                "WHERE t.exam_id = :e"
            ),
            {"e": setup.exam_id},
        )
        stored = {(r.attempt_id, r.position): r for r in rows}
    engine.dispose()
    acknowledged = 0
    checked = 0
    for attempt_id, c in started.items():
        for position, sent in c.sent.items():
            row = stored.get((attempt_id, position))
            last = c.acked.get(position, 0)
            acknowledged += sum(1 for s in sent if s <= last and s not in c.doubt[position])
            checked += 1
            where = f"{c.username} attempt {attempt_id} position {position}"
            if row is None:
                lost.append(f"{where}: no answer row")
                continue
            if row.seq < last:
                lost.append(f"{where}: stored seq {row.seq} < acknowledged seq {last}")
                continue
            if row.seq == 0:
                continue
            if row.seq not in sent:
                wrong.append(f"{where}: stored seq {row.seq} was never sent by this candidate")
                continue
            if row.seq > last and row.seq not in c.doubt[position]:
                wrong.append(f"{where}: stored seq {row.seq} neither acknowledged nor in doubt")
                continue
            in_doubt_stored += row.seq > last
            response, flagged = sent[row.seq]
            stored_response = row.response
            if isinstance(stored_response, str) and setup.url.startswith("sqlite"):
                stored_response = json.loads(stored_response)  # raw SQL: SQLite's JSON is text
            if stored_response != response or bool(row.flagged) != flagged:
                wrong.append(
                    f"{where} seq {row.seq}: stored {stored_response!r}/{row.flagged} "
                    f"≠ sent {response!r}/{flagged}"
                )
        # positions never saved by this candidate must be empty
        saved = set(c.sent)
        for (aid, position), row in stored.items():
            if aid == attempt_id and position not in saved and (row.seq or row.response):
                wrong.append(f"{c.username} position {position}: answer nobody of them sent")
    return Verdict(acknowledged, checked, lost, wrong, in_doubt_stored, len(attempts))


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def fmt(x: float) -> str:
    return "–" if math.isnan(x) else (f"{x:.0f}" if x >= 100 else f"{x:.1f}")


def op_row(label: str, lat: list[float], outcomes: Counter) -> str:
    count = sum(outcomes.values())
    return (
        f"| {label:<40} | {count:>6} | {outcomes['ok']:>6} | {outcomes['queued']:>6} | "
        f"{outcomes['error']:>6} | {fmt(pct(lat, 50)):>6} | {fmt(pct(lat, 95)):>6} | "
        f"{fmt(pct(lat, 99)):>6} | {fmt(max(lat) if lat else float('nan')):>6} |"
    )


def report(n: int, setup: Setup, server: Server, plan: Plan, load: LoadResult, v: Verdict) -> dict:
    st = load.stats
    cores = os.cpu_count() or 1
    backend = "SQLite" if setup.url.startswith("sqlite") else "PostgreSQL"
    print(f"\n### {n} candidates — {server.describe()} on {backend}, {cores} cores\n")
    print(
        "| op                                       |  count |     ok | queued | errors |"
        "    p50 |    p95 |    p99 |    max |"
    )
    print(
        "|------------------------------------------|-------:|-------:|-------:|-------:|"
        "-------:|-------:|-------:|-------:|"
    )
    for op in OPS:
        print(op_row(OP_LABELS[op], st.lat[op], st.outcomes[op]))
    phase_names = ["LEARNING_EVENTS=1", "LEARNING_EVENTS=0"] if plan.compare else [""]
    for i, name in enumerate(phase_names):
        for part in ("spike", "steady"):
            lat = st.phase_lat.get(f"{i}:{part}", [])
            if not lat:
                continue
            label = "  save" + (f", {name}" if name else "")
            label += ", during spike" if part == "spike" else (", after spike" if i == 0 else "")
            print(op_row(label, lat, Counter(ok=len(lat))))
    # The machine is shared: split the saves by what other users' jobs took meanwhile.
    others = load.meter.others_at([t for t, _ in st.save_points])
    quiet = [ms for (_, ms), o in zip(st.save_points, others, strict=True) if o < QUIET_CORES]
    busy = [ms for (_, ms), o in zip(st.save_points, others, strict=True) if o >= QUIET_CORES]
    print(op_row(f"  save, others < {QUIET_CORES:g} core", quiet, Counter(ok=len(quiet))))
    print(op_row(f"  save, others ≥ {QUIET_CORES:g} core", busy, Counter(ok=len(busy))))
    print("(ms; percentiles over answered requests — ok and queued; errors counted apart)")
    total = sum(sum(o.values()) for o in st.outcomes.values()) - sum(
        st.outcomes["admitted"].values()
    )
    saves = len(st.lat["save"])
    save_wall = sum(load.phase_walls)
    print(
        f"\nthroughput: {total / load.wall:.1f} requests/s over {load.wall:.0f} s; "
        f"saves {saves / save_wall:.1f}/s in the save phase"
        f"{f'; server restart between phases {load.restart_s:.1f} s' if plan.compare else ''}"
    )
    ncpu = load.wall * cores
    other = max(0.0, load.machine_busy - load.generator_cpu - load.server_cpu - load.postgres_cpu)

    def share(seconds: float) -> str:
        return f"{seconds:.0f} s ({100 * seconds / load.wall:.0f} % of a core)"

    print(
        f"CPU over the run ({cores} cores × {load.wall:.0f} s = {ncpu:.0f} core-seconds, "
        f"machine busy {100 * load.machine_busy / ncpu:.0f} %): generator "
        f"{share(load.generator_cpu)}, server {share(load.server_cpu)}, PostgreSQL backends "
        f"of the benchmark {share(load.postgres_cpu)}, everything else on the machine "
        f"(other users, PostgreSQL's own processes) {share(other)}"
    )
    windows = [
        ("logins", 0.0, plan.login_window),
        ("start spike", plan.login_window, plan.login_window + plan.spike),
        ("save phase(s) and submits", plan.login_window + plan.spike, load.wall),
    ]
    print(
        "other users' jobs on the machine took (mean cores): "
        + ", ".join(
            f"{name} {load.meter.others_between(load.t0 + a, load.t0 + b):.2f}"
            for name, a, b in windows
        )
    )
    print(
        f"generator event-loop lag: p95 {fmt(pct(load.lag, 95))} ms, max "
        f"{fmt(max(load.lag) if load.lag else float('nan'))} ms (inflates every latency above)"
    )
    for op in OPS:
        for ex in st.examples.get(op, []):
            print(f"  error example [{op}]: {ex}")
    if st.stale:
        print(f"  stale saves (ignored by the server as older than the stored one): {st.stale}")
    submitted = sum(c.submitted for c in load.candidates)
    print(
        f"\nverification: {v.attempts} attempts for {n} candidates, {submitted} submitted; "
        f"{v.acknowledged} acknowledged saves over {v.checked_positions} answered positions; "
        f"lost {len(v.lost)}, misattributed {len(v.misattributed)}"
        + (f"; {v.in_doubt_stored} unacknowledged saves found stored" if v.in_doubt_stored else "")
    )
    for line in (v.lost + v.misattributed)[:20]:
        print(f"  ! {line}")
    save_p95 = pct(st.lat["save"], 95)
    verdict = "yes" if save_p95 <= SAVE_BUDGET_MS else "no"
    print(f"save p95 ≤ {SAVE_BUDGET_MS:.0f} ms: {verdict} ({fmt(save_p95)} ms)")
    return {
        "n": n,
        "server": server.describe(),
        "start_p95": pct(st.lat["start"], 95),
        "admitted_p95": pct(st.lat["admitted"], 95),
        "save": [pct(st.lat["save"], p) for p in (50, 95, 99)],
        "save_quiet_p95": pct(quiet, 95),
        "others": load.meter.others_between(load.t0, load.t0 + load.wall),
        "submit_p95": pct(st.lat["submit"], 95),
        "errors": sum(o["error"] for o in st.outcomes.values()),
        "lost": len(v.lost),
        "wrong": len(v.misattributed),
        "gen_cpu": 100 * load.generator_cpu / load.wall,
        "ok": verdict,
    }


def summary(rows: list[dict]) -> None:
    print("\n## Summary\n")
    print(
        "| N | server | start p95 | admitted p95 | save p50 / p95 / p99 | save p95, others quiet |"
        " submit p95 | errors | lost | misattributed | generator CPU | others (cores) |"
        " save p95 ≤ 50 ms | save ≤ 100 ms & admitted ≤ 2 s |"
    )
    print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|")
    for r in rows:
        s50, s95, s99 = r["save"]
        goal = "yes" if s95 <= 100 and r["admitted_p95"] <= 2000 and not r["errors"] else "no"
        print(
            f"| {r['n']} | {r['server']} | {fmt(r['start_p95'])} | {fmt(r['admitted_p95'])} | "
            f"{fmt(s50)} / {fmt(s95)} / {fmt(s99)} | {fmt(r['save_quiet_p95'])} | "
            f"{fmt(r['submit_p95'])} | {r['errors']} | {r['lost']} | {r['wrong']} | "
            f"{r['gen_cpu']:.0f} % | {r['others']:.2f} | {r['ok']} | {goal} |"
        )
    with_tput = [r for r in rows if r.get("throughput")]
    if with_tput:
        print(
            "\n| N | concurrency | save req/s (p95 ms, server CPU ms/req) |"
            " reference req/s (p95 ms, CPU ms/req) | save / reference | lost |"
        )
        print("|--:|--:|--:|--:|--:|--:|")
        for r in with_tput:
            t = r["throughput"]
            print(
                f"| {r['n']} | {t['concurrency']} | {t['save_rps']} ({t['save_p95_ms']}, "
                f"{t['save_cpu_ms']}) | {t['reference_rps']} ({t['reference_p95_ms']}, "
                f"{t['reference_cpu_ms']}) | {t['ratio']:.0%} | {t['lost']} |"
            )
    print("\n" + json.dumps(rows, ensure_ascii=False, default=str))


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def _counts(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a number or a list like 200,500,1000") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("candidates must be ≥ 1")
    return values


def main(argv: list[str] | None = None) -> int:
    from tests.bench.throughput import add_server_options

    cores = os.cpu_count() or 1
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=_counts, default=[200], help="N or a list: 200,500,1000")
    add_server_options(ap)
    ap.add_argument("--database-url", default=DEFAULT_DB)
    ap.add_argument("--duration", type=float, default=120.0, help="save phase, seconds")
    ap.add_argument("--spike", type=float, default=60.0, help="all candidates start within it")
    ap.add_argument("--login-window", type=float, default=60.0, help="logins spread over it")
    ap.add_argument("--save-interval", type=float, default=5.0)
    ap.add_argument("--submit-window", type=float, default=20.0, help="submits spread over it")
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument(
        "--start-concurrency",
        type=int,
        default=None,
        help="EXAM_START_CONCURRENCY for the server (default: the app's, 8 per process)",
    )
    ap.add_argument("--compare-events", action="store_true", help="LEARNING_EVENTS=1 then =0")
    ap.add_argument(
        "--throughput-seconds",
        type=float,
        default=20.0,
        help="after each N: saves vs the reference app at fixed concurrency (0: skip)",
    )
    ap.add_argument("--concurrency", type=int, default=8, help="for --throughput-seconds")
    ap.add_argument("--keep", action="store_true", help="keep the schemas")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    args.seconds, args.warmup = args.throughput_seconds, 3.0
    spare = args.concurrency if args.throughput_seconds > 0 else 0

    from academy.config import normalise_db_url
    from tests.bench.throughput import compare, make_server

    base_url = normalise_db_url(args.database_url)
    sqlite = base_url.startswith("sqlite")
    if not (sqlite or base_url.startswith("postgresql")):
        raise SystemExit("--database-url must be PostgreSQL or SQLite")
    sqlite_dir = tempfile.mkdtemp(prefix="bench-exam-day-") if sqlite else None
    print(f"machine: {cores} cores (shared by the generator, the server and PostgreSQL)")
    plan = Plan(
        args.login_window,
        args.spike,
        args.duration,
        args.save_interval,
        args.submit_window,
        args.compare_events,
    )
    admin = None if sqlite else sa.create_engine(base_url)
    rows = []
    try:
        for n in args.candidates:
            schema = f"bench_exam_day_{n}"
            if sqlite:
                path = base_url.removeprefix("sqlite:///") if base_url != "sqlite://" else ""
                url = f"sqlite:///{path or sqlite_dir + '/'}{schema}.db"
            else:
                url = schema_url(base_url, schema)
                recreate_schema(admin, schema)
            planned = plan.login_window + plan.spike + plan.duration * (1 + plan.compare)
            minutes = math.ceil((planned + plan.submit_window) / 60) + 30
            print(f"\n== {n} candidates: set-up in schema {schema} …", flush=True)
            setup = prepare(url, n, args.questions, minutes, spare=spare)
            print(
                f"   set-up {setup.seconds:.1f} s ({setup.schema_how}, content sync, {n} agents "
                f"and users, exam #{setup.exam_id} of {args.questions} questions)",
                flush=True,
            )
            with tempfile.TemporaryDirectory() as tmp:
                server = make_server(args, url, n, Path(tmp))
                env = {"LEARNING_EVENTS": "1"}
                if args.start_concurrency is not None:
                    env["EXAM_START_CONCURRENCY"] = str(args.start_concurrency)
                took = server.start(env)
                print(f"   server {server.describe()} up in {took:.1f} s at {server.base}")
                print(
                    f"   load: logins over {plan.login_window:.0f} s, starts over "
                    f"{plan.spike:.0f} s, saves every {plan.interval:g} s ± 20 % for "
                    f"{plan.duration:.0f} s after the spike"
                    f"{' (twice: LEARNING_EVENTS=1, then =0)' if plan.compare else ''}, "
                    f"submits over {plan.submit_window:.0f} s …",
                    flush=True,
                )
                try:
                    load = asyncio.run(run_load(setup, server, plan, args.seed + n))
                finally:
                    server.stop()
                if any(load.stats.outcomes[op]["error"] for op in OPS):
                    print("   server log (last lines):\n" + server.tail(15))
            verdict = verify(setup, load)
            row = report(n, setup, server, plan, load, verdict)
            if spare:
                row["throughput"] = compare(
                    args, url, setup.exam_id, [u for u, _, _ in setup.spare]
                )
            rows.append(row)
            if not args.keep and admin is not None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        if admin is not None:
            admin.dispose()
        if sqlite_dir and not args.keep:
            import shutil

            shutil.rmtree(sqlite_dir, ignore_errors=True)
    summary(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
