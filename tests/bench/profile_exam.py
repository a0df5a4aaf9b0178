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
STATEMENTS: dict[str, list[str]] = {}  # op → the SQL of its first request
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


def run(app, setup, profile: set[str], rng: random.Random):
    """(CPU ms per op, wall ms per op, a cProfile per profiled op)."""
    cpu: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)
    profs = {op: cProfile.Profile() for op in profile}
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        from academy.extensions import db

        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)

    def timed(op, call, *args, **kwargs):
        prof = profs.get(op)
        if prof:
            prof.enable()
        statements.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        resp = call(*args, **kwargs)
        if op not in STATEMENTS:
            STATEMENTS[op] = list(statements)
        cpu[op].append((time.process_time() - c0) * 1000)
        wall[op].append((time.perf_counter() - w0) * 1000)
        if prof:
            prof.disable()
        return resp

    for index, (username, _user_id, _agent_id) in enumerate(setup.candidates):
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        r = client.post(
            "/login",
            data={"csrf_token": csrf_of(login), "username": username, "password": PASSWORD},
        )
        assert r.status_code == 302, r.status_code
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
    return cpu, wall, profs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--database-url", default=DEFAULT_DB)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--sort", default="cumulative", help="cProfile sort key (tottime: own time)")
    ap.add_argument("--only", default=",".join(OPS), help="profile these request kinds")
    ap.add_argument("--statements", action="store_true", help="print each op's SQL")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)

    from academy.config import normalise_db_url

    base_url = normalise_db_url(args.database_url)
    schema = "bench_profile_exam"
    admin = sa.create_engine(base_url)
    url = schema_url(base_url, schema)
    recreate_schema(admin, schema)
    try:
        # Two halves: the first half timed plain (CPU and wall per request), the second
        # under cProfile (its overhead inflates the figures: read it for the shares).
        setup = prepare(url, args.candidates, args.questions, 60)
        app = production_app(url)
        half = len(setup.candidates) // 2
        rng = random.Random(args.seed)
        timed_setup = type(setup)(**{**setup.__dict__, "candidates": setup.candidates[:half]})
        prof_setup = type(setup)(**{**setup.__dict__, "candidates": setup.candidates[half:]})
        cpu, wall, _ = run(app, timed_setup, set(), rng)
        _, _, profs = run(app, prof_setup, set(filter(None, args.only.split(","))), rng)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()

    summary = {}
    print("op        n   CPU ms (mean / p50)    wall ms (mean / p95)")
    for op in OPS:
        c, w = cpu[op], sorted(wall[op])
        if not c:
            continue
        c_sorted = sorted(c)
        mean_c, mean_w = sum(c) / len(c), sum(w) / len(w)
        p50_c = c_sorted[len(c) // 2]
        p95_w = w[min(len(w) - 1, int(len(w) * 0.95))]
        print(f"{op:<8}{len(c):>4}   {mean_c:7.2f} / {p50_c:7.2f}", end="")
        print(f"      {mean_w:7.2f} / {p95_w:7.2f}")
        summary[f"{op}_cpu_ms"] = round(mean_c, 2)
        summary[f"{op}_statements"] = len(STATEMENTS.get(op, []))
    if args.statements:
        for op, sqls in STATEMENTS.items():
            print(f"== {op}: {len(sqls)} statements")
            for sql in sqls:
                print("   ", " ".join(sql.split())[:160])
    for op, prof in profs.items():
        prof.dump_stats(f"/tmp/profile_exam_{op}.prof")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(f"== {op} (cProfile, {args.sort})")
        print(out.getvalue())
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
