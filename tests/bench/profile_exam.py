"""Where an exam-day request's CPU goes, in-process (issue 17: profile before and after).

    python -m tests.bench.profile_exam --candidates 40
    python -m tests.bench.profile_exam --candidates 40 --top 25 --only start,page

Set-up as exam_day (a fresh schema ``bench_profile_exam``, shipped content, N candidates, one
published exam of ``--questions`` questions on one page). The app runs in this process with the
production configuration (CSRF on, caches as deployed) on PostgreSQL; each candidate signs in
through the test client (not timed), then in turn: POST start, GET the attempt page, five
autosaves, POST submit. For each request kind it prints the app's CPU per request
(``time.process_time``: the database server's own CPU is not in it) and wall time, then the
top functions of a cProfile run over the same requests (cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import replace

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from tests.bench.exam_day import (
    DEFAULT_DB,
    PASSWORD,
    SECRET_KEY,
    csrf_of,
    make_answer,
    parse_attempt,
    prepare,
)
from tests.bench.province import REPO_ROOT, recreate_schema, schema_url

OPS = ("start", "page", "save", "submit")
ATTEMPT = re.compile(r"/attempts/(\d+)")


def production_app(url: str):
    from academy import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            "CONTENT_ROOT": str(REPO_ROOT),
        }
    )


class Recorder:
    """Times requests made through the test client: CPU (this process) and wall ms per
    kind, the SQL of each kind's first request, the most bound parameters any of its
    statements had (psycopg parses a statement with more than 50 again on every execution,
    ≈0.4 ms), and a cProfile of the kinds asked for."""

    def __init__(self, app, profile: set[str]):
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, list[str]] = {}
        # per request: the most bound parameters of one of its statements
        self.params: dict[str, list[int]] = defaultdict(list)
        self._params = 0
        self.profs = {op: cProfile.Profile() for op in profile}
        self._current: list[str] = []
        with app.app_context():
            from academy.extensions import db

            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, *args):
        self._current.append(statement)
        if isinstance(parameters, dict):
            self._params = max(self._params, len(parameters))

    def __call__(self, op, call, *args, **kwargs):
        prof = self.profs.get(op)
        if prof:
            prof.enable()
        self._current, self._params = [], 0
        c0, w0 = time.process_time(), time.perf_counter()
        resp = call(*args, **kwargs)
        self.cpu[op].append((time.process_time() - c0) * 1000)
        self.wall[op].append((time.perf_counter() - w0) * 1000)
        if prof:
            prof.disable()
        self.statements.setdefault(op, self._current)
        self.params[op].append(self._params)
        return resp

    def relabel(self, op: str, to: str) -> None:
        """Count the last ``op`` request as a ``to`` (known only from its response)."""
        self.cpu[to].append(self.cpu[op].pop())
        self.wall[to].append(self.wall[op].pop())
        self.params[to].append(self.params[op].pop())
        if to not in self.statements:
            self.statements[to] = self._current

    def report(self, ops, args, profiled: Recorder | None = None, name: str = "exam") -> dict:
        """Print the table (and the SQL, the profiles) and return the summary."""
        summary = {}
        print(
            "op          n   CPU ms (mean / p50)    wall ms (mean / p95)   statements   most params"
        )
        for op in ops:
            c, w = sorted(self.cpu[op]), sorted(self.wall[op])
            if not c:
                continue
            mean_c, mean_w = sum(c) / len(c), sum(w) / len(w)
            p50_c, p95_w = c[len(c) // 2], w[min(len(w) - 1, int(len(w) * 0.95))]
            n_sql = len(self.statements.get(op, []))
            print(f"{op:<10}{len(c):>4}   {mean_c:7.2f} / {p50_c:7.2f}", end="")
            most = max(self.params[op])
            flag = "  (> 50: psycopg parses it again every time)" if most > 50 else ""
            print(f"      {mean_w:7.2f} / {p95_w:7.2f}   {n_sql:>6}   {most:>11}{flag}")
            summary[f"{op}_cpu_ms"] = round(mean_c, 2)
            summary[f"{op}_statements"] = n_sql
            summary[f"{op}_most_params"] = most
        if args.statements:
            for op, sqls in self.statements.items():
                print(f"== {op}: {len(sqls)} statements")
                for sql in sqls:
                    print("   ", " ".join(sql.split())[:160])
        for op, prof in (profiled.profs if profiled else {}).items():
            if not prof.getstats():
                continue  # nothing ran under it (a relabelled kind: profile its source)
            prof.dump_stats(f"/tmp/profile_{name}_{op}.prof")
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(f"== {op} (cProfile, {args.sort}; also in /tmp/profile_{name}_{op}.prof)")
            print(out.getvalue())
        print(json.dumps(summary))
        return summary


def add_profile_options(ap: argparse.ArgumentParser, ops) -> None:
    ap.add_argument("--database-url", default=DEFAULT_DB)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--sort", default="cumulative", help="cProfile sort key (tottime: own time)")
    ap.add_argument("--only", default=",".join(ops), help="profile these request kinds")
    ap.add_argument("--statements", action="store_true", help="print each op's SQL")
    ap.add_argument("--seed", type=int, default=2026)


def signed_in(app, username: str):
    """A test client signed in as ``username`` (the bench's password; not timed)."""
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    r = client.post(
        "/login",
        data={"csrf_token": csrf_of(login), "username": username, "password": PASSWORD},
    )
    assert r.status_code == 302, r.status_code
    return client


def run(app, setup, timed: Recorder, rng: random.Random) -> None:
    for index, (username, _user_id, _agent_id) in enumerate(setup.candidates):
        client = signed_in(app, username)
        page = client.get(f"/exams/{setup.exam_id}").get_data(as_text=True)
        csrf = csrf_of(page)
        r = timed(
            "start",
            client.post,
            f"/exams/{setup.exam_id}/start",
            data={"csrf_token": csrf},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        target = r.get_json()["redirect"]
        attempt_id = int(ATTEMPT.search(target).group(1))
        r = timed("page", client.get, target)
        assert r.status_code == 200
        questions, seqs = parse_attempt(r.get_data(as_text=True))
        for _ in range(5):
            q = rng.choice(questions)
            seq = seqs.get(q.position, 0) + 1
            seqs[q.position] = seq
            fields, _expected = make_answer(q, rng, index, seq)
            r = timed(
                "save",
                client.post,
                f"/attempts/{attempt_id}/answers/{q.position}",
                data=MultiDict([*fields, ("seq", str(seq))]),
                headers={"X-CSRFToken": csrf, "Accept": "application/json"},
            )
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
        r = timed(
            "submit", client.post, f"/attempts/{attempt_id}/submit", data={"csrf_token": csrf}
        )
        assert r.status_code == 302


def run_profile(args, schema: str, name: str, ops, prepare_users, play) -> None:
    """A fresh schema; ``prepare_users(url)`` → (users, context); the app in this process;
    ``play(app, users, context, recorder, rng)`` for half the users timed plainly and half
    under cProfile (its overhead inflates the figures: read it for the shares); the report."""
    from academy.config import normalise_db_url

    base_url = normalise_db_url(args.database_url)
    admin = sa.create_engine(base_url)
    url = schema_url(base_url, schema)
    recreate_schema(admin, schema)
    try:
        users, context = prepare_users(url)
        app = production_app(url)
        half = len(users) // 2
        rng = random.Random(args.seed)
        timed = Recorder(app, set())
        profiled = Recorder(app, set(filter(None, args.only.split(","))))
        play(app, users[:half], context, timed, rng)
        play(app, users[half:], context, profiled, rng)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    timed.report(ops, args, profiled, name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--questions", type=int, default=50)
    add_profile_options(ap, OPS)
    args = ap.parse_args(argv)

    def prepare_users(url):
        setup = prepare(url, args.candidates, args.questions, 60)
        return setup.candidates, setup

    def play(app, candidates, setup, recorder, rng):
        run(app, replace(setup, candidates=candidates), recorder, rng)

    run_profile(args, "bench_profile_exam", "exam", OPS, prepare_users, play)
    return 0


if __name__ == "__main__":
    sys.exit(main())
