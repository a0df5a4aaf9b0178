"""Throughput at fixed concurrency (issue 17): the exam save endpoint against the smallest
Flask + SQLAlchemy endpoint that inserts one row (tests/bench/reference_app.py), served the
same way on the same machine, one right after the other. Reported, not asserted.

    python -m tests.bench.throughput                        # 8 connections, 20 s each
    python -m tests.bench.throughput --concurrency 16 --seconds 30 --workers 3
    python -m tests.bench.throughput --worker-class gevent  # or --threads 4 (gthread)
    python -m tests.bench.throughput --instances 2          # two instances behind one port

Each of ``--concurrency`` clients is a candidate signed in with a started attempt (its own
cookie jar); it sends one valid autosave after the other (X-CSRFToken, seq + 1, as exam.js
does) for ``--seconds`` after a ``--warmup``; then the reference app is started on the same
database (its own table) and the same number of clients POST a small form to it. Every
acknowledged save is checked in the database afterwards (lost must be 0).

``tests.bench.exam_day`` runs the same comparison after each N of its load (``--throughput``),
so its report carries the reference figures of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.bench.exam_day import (
    DEFAULT_DB,
    PASSWORD,
    Cluster,
    Server,
    csrf_of,
    make_answer,
    parse_attempt,
    pct,
    prepare,
)
from tests.bench.province import recreate_schema, schema_url

REFERENCE_FACTORY = "tests.bench.reference_app:create_app"


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    examples: list[str] = field(default_factory=list)
    cpu_server: float = 0.0
    cpu_client: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        lat = self.latencies
        return (
            f"{self.label:<34} | {self.rate:8.1f} req/s | p50 {pct(lat, 50):6.1f} | "
            f"p95 {pct(lat, 95):6.1f} | p99 {pct(lat, 99):6.1f} ms | errors {self.errors}"
            + f" | CPU ms/req: server {self.cpu_server * 1000 / max(1, self.requests):.2f},"
            f" client {self.cpu_client * 1000 / max(1, self.requests):.2f}"
        )


async def _hammer(
    clients, one, seconds: float, warmup: float
) -> tuple[int, list[float], int, list[str]]:
    """Every client sends requests back to back; those that end inside the measured window
    (after the warm-up, ``seconds`` long) are counted."""
    loop = asyncio.get_running_loop()
    t_start = loop.time() + warmup
    t_end = t_start + seconds
    lat: list[float] = []
    errors: list[str] = []
    done = 0

    async def run(c) -> None:
        nonlocal done
        while loop.time() < t_end:
            t0 = loop.time()
            problem = await one(c)
            t1 = loop.time()
            if t_start <= t1 <= t_end:
                if problem:
                    errors.append(problem)
                else:
                    done += 1
                    lat.append((t1 - t0) * 1000)

    await asyncio.gather(*(run(c) for c in clients))
    return done, lat, len(errors), errors[:5]


@dataclass
class SaveClient:
    session: object
    attempt_id: int
    csrf: str
    questions: list
    seq: dict[int, int]
    rng: random.Random
    index: int
    acked: dict[int, tuple[int, object]] = field(default_factory=dict)


async def _sign_in_and_start(session, username: str, exam_id: int, index: int) -> SaveClient:
    async with session.get("/login") as r:
        form = await r.text()
    data = {"csrf_token": csrf_of(form) or "", "username": username, "password": PASSWORD}
    async with session.post("/login", data=data, allow_redirects=False) as r:
        if r.status != 302:
            raise SystemExit(f"login of {username} failed: HTTP {r.status}")
    async with session.get(f"/exams/{exam_id}") as r:
        csrf = csrf_of(await r.text()) or ""
    headers = {"Accept": "application/json"}
    while True:
        async with session.post(
            f"/exams/{exam_id}/start", data={"csrf_token": csrf}, headers=headers
        ) as r:
            body = json.loads(await r.text())
        if r.status == 503:
            await asyncio.sleep(body["retry_after"])
            continue
        break
    target = body["redirect"]
    async with session.get(target) as r:
        page = await r.text()
    questions, seqs = parse_attempt(page)
    attempt_id = int(target.rstrip("/").rsplit("/", 1)[-1])
    rng = random.Random(index)
    return SaveClient(session, attempt_id, csrf_of(page) or "", questions, seqs, rng, index)


async def _save(c: SaveClient) -> str | None:
    q = c.rng.choice(c.questions)
    seq = c.seq.get(q.position, 0) + 1
    c.seq[q.position] = seq
    fields, expected = make_answer(q, c.rng, c.index, seq)
    headers = {"X-CSRFToken": c.csrf, "Accept": "application/json"}
    try:
        async with c.session.post(
            f"/attempts/{c.attempt_id}/answers/{q.position}",
            data=[*fields, ("seq", str(seq)), ("flag", "0")],
            headers=headers,
        ) as r:
            text = await r.text()
            if r.status != 200:
                return f"HTTP {r.status}: {text[:120]}"
    except Exception as err:  # a dropped connection, a timeout: an error of the run
        return f"{err.__class__.__name__}: {err}"[:160]
    c.acked[q.position] = (seq, expected)
    return None


async def _reference(c) -> str | None:
    session, rng, index = c
    data = {"who": str(index), "value": f"考生{index}的答案{rng.randint(0, 9999)}"}
    try:
        async with session.post("/rows", data=data) as r:
            await r.read()
            if r.status != 200:
                return f"HTTP {r.status}"
    except Exception as err:
        return f"{err.__class__.__name__}: {err}"[:160]
    return None


def _cpu(pids: list[int]) -> float:
    from tests.bench.exam_day import _ticks

    return sum(_ticks(p) for p in pids) / os.sysconf("SC_CLK_TCK")


async def _measure_saves(base, exam_id, usernames, seconds, warmup, server) -> tuple[Result, list]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    sessions = [
        aiohttp.ClientSession(
            base_url=base,
            connector=connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        for _ in usernames
    ]
    try:
        clients = [
            await _sign_in_and_start(s, u, exam_id, i)
            for i, (s, u) in enumerate(zip(sessions, usernames, strict=True), 1)
        ]
        cpu0, own0 = _cpu(server.pids()), time.process_time()
        done, lat, errors, examples = await _hammer(clients, _save, seconds, warmup)
        cpu, own = _cpu(server.pids()) - cpu0, time.process_time() - own0
    finally:
        for s in sessions:
            await s.close()
        await connector.close()
    result = Result("exam save (the app)", done, seconds, lat, errors, examples)
    result.cpu_server = cpu * seconds / (seconds + warmup)  # the warm-up's share left out
    result.cpu_client = own * seconds / (seconds + warmup)
    return result, clients


async def _measure_reference(base, concurrency, seconds, warmup, server) -> Result:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        base_url=base, connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        clients = [(session, random.Random(i), i) for i in range(1, concurrency + 1)]
        cpu0, own0 = _cpu(server.pids()), time.process_time()
        done, lat, errors, examples = await _hammer(clients, _reference, seconds, warmup)
        cpu, own = _cpu(server.pids()) - cpu0, time.process_time() - own0
    result = Result("reference: Flask+SQLAlchemy INSERT", done, seconds, lat, errors, examples)
    result.cpu_server = cpu * seconds / (seconds + warmup)
    result.cpu_client = own * seconds / (seconds + warmup)
    return result


def lost_saves(url: str, clients: list[SaveClient]) -> int:
    """Acknowledged saves whose answer is not what the database holds (must be 0)."""
    engine = sa.create_engine(url)
    lost = 0
    with engine.connect() as conn:
        for c in clients:
            rows = dict(
                conn.execute(
                    sa.text("SELECT position, seq FROM attempt_answer WHERE attempt_id = :a"),
                    {"a": c.attempt_id},
                ).all()
            )
            lost += sum(1 for pos, (seq, _) in c.acked.items() if rows.get(pos) != seq)
    engine.dispose()
    return lost


def make_server(args, url: str, n: int, log_dir: Path, factory: str | None = None):
    """A Server, or a Cluster of ``args.instances`` behind the balancer, as asked."""
    from tests.bench.exam_day import APP_FACTORY

    threads = args.threads or (8 if args.server == "waitress" else 1)

    def one() -> Server:
        return Server(
            args.server,
            url,
            args.workers,
            threads,
            n,
            log_dir,
            factory=factory or APP_FACTORY,
            worker_class=args.worker_class,
        )

    if args.instances <= 1:
        return one()
    return Cluster([one() for _ in range(args.instances)], log_dir, args.redis_url)


def compare(args, url: str, exam_id: int, usernames: list[str]) -> dict:
    """Saves on the app, then the reference app, at the same concurrency; both servers
    started here (the app's anew, so both begin with the same warm-up)."""
    from tests.bench import reference_app

    with tempfile.TemporaryDirectory() as tmp:
        server = make_server(args, url, len(usernames), Path(tmp))
        server.start({"LEARNING_EVENTS": "1"})
        try:
            saves, clients = asyncio.run(
                _measure_saves(server.base, exam_id, usernames, args.seconds, args.warmup, server)
            )
        finally:
            server.stop()
        lost = lost_saves(url, clients)
        reference_app.create_table(url)
        ref_server = make_server(args, url, len(usernames), Path(tmp), factory=REFERENCE_FACTORY)
        ref_server.start({})
        try:
            reference = asyncio.run(
                _measure_reference(
                    ref_server.base, len(usernames), args.seconds, args.warmup, ref_server
                )
            )
        finally:
            ref_server.stop()
    ratio = saves.rate / reference.rate if reference.rate else float("nan")
    print(f"   fixed concurrency {len(usernames)}, {args.seconds:g} s each ({server.describe()}):")
    print("   " + saves.line())
    print("   " + reference.line())
    for r in (saves, reference):
        for example in r.examples:
            print(f"     error ({r.label}): {example}")
    print(
        f"   save throughput = {ratio:.0%} of the reference (goal ≥ 60 %); "
        f"acknowledged saves lost: {lost}",
        flush=True,
    )
    return {
        "concurrency": len(usernames),
        "save_rps": round(saves.rate, 1),
        "save_p95_ms": round(pct(saves.latencies, 95), 1),
        "save_cpu_ms": round(saves.cpu_server * 1000 / max(1, saves.requests), 2),
        "reference_rps": round(reference.rate, 1),
        "reference_p95_ms": round(pct(reference.latencies, 95), 1),
        "reference_cpu_ms": round(reference.cpu_server * 1000 / max(1, reference.requests), 2),
        "ratio": round(ratio, 3),
        "errors": saves.errors + reference.errors,
        "lost": lost,
    }


def add_server_options(ap: argparse.ArgumentParser) -> None:
    cores = os.cpu_count() or 1
    ap.add_argument("--server", choices=("gunicorn", "waitress", "flask"), default="gunicorn")
    ap.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers")
    ap.add_argument("--threads", type=int, default=None, help=">1: gunicorn gthread workers")
    ap.add_argument("--worker-class", default=None, help="gunicorn -k (e.g. gevent); default sync")
    ap.add_argument("--instances", type=int, default=1, help="app instances behind a balancer")
    ap.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="shared gate and throttle for --instances > 1",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_DB)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    add_server_options(ap)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    from academy.config import normalise_db_url

    base = normalise_db_url(args.database_url)
    admin = sa.create_engine(base)
    schema = "bench_throughput"
    recreate_schema(admin, schema)
    url = schema_url(base, schema)
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    setup = prepare(url, args.concurrency, 50, 120)
    print(f"   set-up {time.perf_counter() - started:.1f} s", flush=True)
    try:
        figures = compare(args, url, setup.exam_id, [u for u, _, _ in setup.candidates])
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
