"""Simulation-step load benchmark (issue: a step request costs no more than an exam answer
save, p95 at 200 concurrent players; `content check` of all cases ≤ 2 s). Same style as
exam_day: the real app served by gunicorn on PostgreSQL, asyncio + aiohttp players.
Reported, not asserted.

    python -m tests.bench.simulation_steps --players 200
    python -m tests.bench.simulation_steps --players 20 --duration 20      # a small run

Set-up (timed, not part of the numbers): a fresh schema ``bench_sim_steps_<N>`` from the
migrations, ``content sync`` of the shipped content (modules, banks and the simulation cases),
N agents with postings and AGENT users (bulk INSERTs, one shared password hash).

Load: each player logs in (spread over ``--login-window``), starts a random shipped case
(POST /simulations/<slug>/start), then plays it one step at a time as the page offers it:
GET the run page, think ``--think`` s (± 20 %), POST the step (a random offered option; forms
posted as a hurried player would, some fields empty; free text a sentence). At the end it opens
the debrief and starts another case, until ``--duration`` seconds after the logins.
Every step POST carries the page's seq; a 302 is a step taken, a 409 a refusal (counted apart:
with one tab per player there should be none).

``--with-exam N`` runs N exam candidates (exam_day's, saving every ``--save-interval`` s) against
the same server at the same time, and compares the step's p50/p95/p99 with the answer save's
over the same minutes (after the exam's start spike), as a whole and per 30-second slice:
separate runs of the two benches differ from each other by more than the two requests do.

Also timed: validating every case file (the simulations part of ``content check``) and the
whole ``content check`` (courses, banks and cases), each the best of 3.

The figures are printed last as one JSON line:
``{"players": …, "step_p50_ms": …, "step_p95_ms": …, "page_p95_ms": …, "cases_check_ms": …}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.bench.exam_day import (
    DEFAULT_DB,
    PASSWORD,
    Candidate,
    Phases,
    Plan,
    Server,
    Stats,
    _request,
    candidate_run,
    csrf_of,
    fmt,
    pct,
    seed_agents,
    seed_candidates,
    seed_exam,
)
from tests.bench.province import (
    REPO_ROOT,
    build_schema,
    load_reference_content,
    make_app,
    recreate_schema,
    schema_url,
)

STEP_BUDGET_MS = 50.0  # the exam answer save's bar (DESIGN.md §5)
SCENE = re.compile(r'data-step="([a-z0-9_]+)" data-kind="([a-z_]+)"')
SEQ = re.compile(r'name="seq" value="(\d+)"')
OPTION = re.compile(r'name="option" value="([a-z0-9_]+)"')
FIELD = re.compile(r'name="(f_[a-z0-9_]+)"')
RUN = re.compile(r"/simulations/runs/(\d+)")
SELECT = re.compile(r'<select[^>]* name="(f_[a-z0-9_]+)"[^>]*>(.*?)</select>', re.S)
CHOICE = re.compile(r"<option>([^<]+)</option>")


def step_form(page: str, csrf: str, rng: random.Random) -> list[tuple[str, str]]:
    """What a hurried player posts for the step the page shows: a random offered option,
    some of the materials, a form with some fields left empty (a list field: one of its
    offered choices, as a phone's picker allows), a sentence of free text."""
    step_id, kind = SCENE.search(page).groups()
    data = [("csrf_token", csrf), ("seq", SEQ.search(page).group(1)), ("step", step_id)]
    options = OPTION.findall(page)
    if kind in ("choice", "channel"):
        data.append(("option", rng.choice(options)))
    elif kind == "materials":
        data += [("option", o) for o in rng.sample(options, rng.randint(1, len(options)))]
    elif kind == "form":
        picks = {name: CHOICE.findall(body) for name, body in SELECT.findall(page)}
        for name in FIELD.findall(page):
            if rng.random() < 0.3:
                data.append((name, ""))
            elif name in picks:
                data.append((name, rng.choice(picks[name]) if picks[name] else ""))
            else:
                data.append((name, "俞国富"))
    elif kind == "free_text":
        data.append(("reply", "阿婆您别急，材料我一次跟您说清楚，村里就能办，不收钱。"))
    return data


@dataclass
class Setup:
    usernames: list[str]
    slugs: list[str]
    seconds: float
    exam_id: int | None = None
    candidates: list[tuple[str, int, int]] = field(default_factory=list)


def prepare(url: str, n: int, exam_candidates: int = 0, questions: int = 50) -> Setup:
    """Schema, content, N players; with ``exam_candidates``, exam_day's candidates and exam."""
    from academy.extensions import db
    from academy.simulations.services import live_cases

    started = time.perf_counter()
    app = make_app(url)
    with app.app_context():
        build_schema(app)
        load_reference_content()
        usernames = [f"sim{i + 1:05d}" for i in range(n)]
        seed_agents("模拟基准县", usernames, "代办员", "137")
        slugs = [c.slug for c in live_cases()]
        exam_id, cands = None, []
        if exam_candidates:
            cands = seed_candidates(exam_candidates)
            exam_id = seed_exam(questions, minutes=120)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return Setup(usernames, slugs, time.perf_counter() - started, exam_id, cands)


def time_content_check() -> tuple[float, float, int]:
    """(ms to validate every case file, ms of the whole content check, number of cases)."""
    from academy.content.loader import load_content
    from academy.simulations.rules import check_case

    bundle = load_content(REPO_ROOT)
    slugs = bundle.known_slugs
    docs = bundle.documents["simulations"]
    cases = []
    for _ in range(3):
        t = time.perf_counter()
        for d in docs:
            check_case(d.path, d.data, slugs)
        cases.append((time.perf_counter() - t) * 1000)
    whole = []
    for _ in range(3):
        t = time.perf_counter()
        load_content(REPO_ROOT)
        whole.append((time.perf_counter() - t) * 1000)
    return min(cases), min(whole), len(docs)


async def player(i, username, slugs, base, args, t0, stats, connector, rng, counts, points):
    import aiohttp

    loop = asyncio.get_running_loop()
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(
        base_url=base,
        connector=connector,
        connector_owner=False,
        cookie_jar=jar,
        timeout=aiohttp.ClientTimeout(total=60),
    ) as s:
        await asyncio.sleep(rng.uniform(0, args.login_window))
        async with s.get("/login") as r:
            form = await r.text()
        status, _ = await _request(
            s,
            "POST",
            "/login",
            "login",
            stats,
            expect=(302,),
            data={"csrf_token": csrf_of(form) or "", "username": username, "password": PASSWORD},
        )
        if status != 302:
            return
        status, page = await _request(s, "GET", "/simulations/", "index", stats, expect=(200,))
        if status != 200:
            return
        csrf = csrf_of(page) or ""
        end = t0 + args.login_window + args.duration
        if not args.overlap:
            # As exam_day: everyone signs in first (logins hash passwords: ~0.13 s of CPU
            # each), then plays; the first case starts at a random moment of one think time.
            delay = t0 + args.login_window + rng.uniform(0, args.think) - loop.time()
            await asyncio.sleep(max(0.0, delay))
        while loop.time() < end:
            slug = rng.choice(slugs)
            status, moved = await _request(
                s,
                "POST",
                f"/simulations/{slug}/start",
                "start",
                stats,
                expect=(302,),
                data={"csrf_token": csrf, "fresh": "1"},
                header="Location",
            )
            if status != 302:
                return
            counts["runs"] += 1
            run_id = RUN.search(moved).group(1)  # the redirect's Location: the new run
            url = f"/simulations/runs/{run_id}"
            while loop.time() < end:
                status, page = await _request(s, "GET", url, "page", stats, expect=(200, 302))
                if status != 200:
                    break  # finished: redirected to the debrief
                if not SCENE.search(page) or not SEQ.search(page):
                    stats.add("page", 0.0, "error", "run page without a step")
                    return
                data = step_form(page, csrf, rng)
                await asyncio.sleep(args.think * rng.uniform(0.8, 1.2))
                sent = time.perf_counter()
                status, moved = await _request(
                    s,
                    "POST",
                    f"{url}/step",
                    "step",
                    stats,
                    expect=(302, 409),  # 409: refused (a form answer the step does not take)
                    data=data,
                    header="Location",
                )
                if status in (302, 409):
                    took = (time.perf_counter() - sent) * 1000
                    kind = SCENE.search(page).group(2)
                    if status == 409:
                        kind = "refused"
                    elif moved.endswith("/debrief"):
                        kind = "end"
                    points.append((loop.time(), took, kind))
                if status == 409:
                    counts["refused"] += 1
                elif status != 302:
                    return
                counts["steps"] += 1
            else:
                break
            await _request(s, "GET", f"{url}/debrief", "debrief", stats, expect=(200,))
            counts["finished"] += 1


@dataclass
class Load:
    stats: Stats
    counts: Counter
    wall: float
    t0: float
    # (loop time answered, ms, the step's kind or "end": it ended the case) of every step
    steps: list[tuple[float, float, str]]
    exam: Stats | None = None  # the exam's candidates (--with-exam), saves in save_points


def exam_plan(args) -> Plan:
    """exam_day's phases fitted to the players' run: logins in the same window, starts over
    ``--exam-spike`` s after it, saves until the players stop, submits just after."""
    return Plan(
        args.login_window,
        args.exam_spike,
        args.duration - args.exam_spike,
        args.save_interval,
        5.0,
        False,
    )


async def run_load(setup: Setup, server: Server, args) -> Load:
    import aiohttp

    stats = Stats()
    counts: Counter = Counter()
    points: list[tuple[float, float, str]] = []
    rng = random.Random(args.seed)
    connector = aiohttp.TCPConnector(limit=0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    started = time.perf_counter()
    work = [
        player(
            i,
            u,
            setup.slugs,
            server.base,
            args,
            t0,
            stats,
            connector,
            random.Random(rng.random()),
            counts,
            points,
        )
        for i, u in enumerate(setup.usernames)
    ]
    exam = None
    if setup.candidates:
        exam, plan = Stats(), exam_plan(args)
        phases = Phases([plan.login_window + plan.spike + plan.duration])
        work += [
            candidate_run(
                Candidate(i + 1, u, uid, aid),
                server.base,
                setup.exam_id,
                plan,
                phases,
                t0,
                exam,
                connector,
                random.Random(rng.random()),
            )
            for i, (u, uid, aid) in enumerate(setup.candidates)
        ]
    try:
        await asyncio.gather(*work)
    finally:
        await connector.close()
    return Load(stats, counts, time.perf_counter() - started, t0, points, exam)


SLICE_S = 30.0


def same_minutes(load: Load, args) -> dict:
    """Steps and saves answered in the same minutes: after the exam's start spike and the
    players' first think, until the players stop. The whole window, then per slice."""
    start = load.t0 + args.login_window + max(args.exam_spike, args.think)
    end = load.t0 + args.login_window + args.duration

    def within(points, a, b):
        return [ms for t, ms, *_ in points if a <= t < b]

    steps = within(load.steps, start, end)
    saves = within(load.exam.save_points, start, end)
    slices = []
    a = start
    while a + SLICE_S / 2 <= end:
        b = min(end, a + SLICE_S)
        st, sv = within(load.steps, a, b), within(load.exam.save_points, a, b)
        if st and sv:
            slices.append((a - load.t0, b - load.t0, len(st), pct(st, 95), len(sv), pct(sv, 95)))
        a = b
    kinds: dict[str, list[float]] = {}
    for t, ms, kind in load.steps:
        if start <= t < end:
            kinds.setdefault(kind, []).append(ms)
    return {
        "window": (start - load.t0, end - load.t0),
        "steps": steps,
        "saves": saves,
        "slices": slices,
        "kinds": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    import os

    cores = os.cpu_count() or 1
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--players", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2 * cores + 1)
    ap.add_argument("--database-url", default=DEFAULT_DB)
    ap.add_argument("--login-window", type=float, default=30.0)
    ap.add_argument("--duration", type=float, default=90.0, help="play after the logins, s")
    ap.add_argument("--think", type=float, default=4.0, help="seconds between steps (± 20 %%)")
    ap.add_argument(
        "--overlap",
        action="store_true",
        help="start playing right after one's own login (logins and steps overlap)",
    )
    ap.add_argument(
        "--with-exam",
        type=int,
        default=0,
        metavar="N",
        help="N exam candidates saving answers against the same server at the same time",
    )
    ap.add_argument("--exam-spike", type=float, default=20.0, help="their starts, s")
    ap.add_argument("--save-interval", type=float, default=5.0, help="their saves, s (± 20 %%)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)

    from academy.config import normalise_db_url

    base_url = normalise_db_url(args.database_url)
    cases_ms, check_ms, n_cases = time_content_check()
    print(
        f"content check: {n_cases} cases validated in {cases_ms:.1f} ms; "
        f"whole content check {check_ms:.0f} ms"
    )
    n = args.players
    schema = f"bench_sim_steps_{n}"
    admin = sa.create_engine(base_url)
    url = schema_url(base_url, schema)
    recreate_schema(admin, schema)
    try:
        print(f"== {n} players: set-up in schema {schema} …", flush=True)
        setup = prepare(url, n, args.with_exam)
        print(f"   set-up {setup.seconds:.1f} s ({len(setup.slugs)} cases)", flush=True)
        if args.with_exam:
            print(
                f"   with {args.with_exam} exam candidates on the same server: starts over "
                f"{args.exam_spike:g} s after the logins, a save every {args.save_interval:g} s"
            )
        with tempfile.TemporaryDirectory() as tmp:
            server = Server("gunicorn", url, args.workers, 1, n + args.with_exam, Path(tmp))
            server.start({"LEARNING_EVENTS": "1"})
            print(f"   server {server.describe()} at {server.base}", flush=True)
            try:
                load = asyncio.run(run_load(setup, server, args))
            finally:
                server.stop()
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    stats, counts, wall = load.stats, load.counts, load.wall
    print(
        f"   {wall:.0f} s: runs {counts['runs']}, finished {counts['finished']}, "
        f"steps {counts['steps']}, refused {counts['refused']}"
    )
    print("   op            n     p50     p95     p99   errors")
    for op in ("login", "start", "page", "step", "debrief"):
        lat = stats.lat[op]
        print(
            f"   {op:<10}{len(lat):>6}{fmt(pct(lat, 50)):>8}{fmt(pct(lat, 95)):>8}"
            f"{fmt(pct(lat, 99)):>8}{stats.outcomes[op]['error']:>8}"
        )
        for ex in stats.examples[op]:
            print(f"      e.g. {ex}")
    if load.exam is not None:
        print("   exam candidates:")
        for op in ("login", "start", "page", "save", "submit"):
            lat = load.exam.lat[op]
            print(
                f"   {op:<10}{len(lat):>6}{fmt(pct(lat, 50)):>8}{fmt(pct(lat, 95)):>8}"
                f"{fmt(pct(lat, 99)):>8}{load.exam.outcomes[op]['error']:>8}"
            )
            for ex in load.exam.examples[op]:
                print(f"      e.g. {ex}")
        same = same_minutes(load, args)
        a, b = same["window"]
        print(f"   the same minutes ({a:.0f}–{b:.0f} s):  n     p50     p95     p99")
        for label, lat in (("step", same["steps"]), ("save", same["saves"])):
            print(
                f"   {label:<27}{len(lat):>6}{fmt(pct(lat, 50)):>8}{fmt(pct(lat, 95)):>8}"
                f"{fmt(pct(lat, 99)):>8}"
            )
        for kind, lat in sorted(same["kinds"].items(), key=lambda kv: -len(kv[1])):
            print(
                f"     step: {kind:<20}{len(lat):>6}{fmt(pct(lat, 50)):>8}"
                f"{fmt(pct(lat, 95)):>8}{fmt(pct(lat, 99)):>8}"
            )
        slices = same["slices"]
        won = sum(1 for *_, st95, _, sv95 in slices if st95 <= sv95)
        print(
            f"   per {SLICE_S:.0f} s slice, step p95 ≤ save p95 in {won} of {len(same['slices'])}:"
        )
        for a, b, nst, st95, nsv, sv95 in slices:
            print(
                f"      {a:>4.0f}–{b:<4.0f} s  step {st95:5.1f} ms (n {nst:>4})  "
                f"save {sv95:5.1f} ms (n {nsv:>4})"
            )
    steps = stats.lat["step"]
    out = {
        "players": n,
        "steps": len(steps),
        "step_p50_ms": round(pct(steps, 50), 1),
        "step_p95_ms": round(pct(steps, 95), 1),
        "step_budget_ms": STEP_BUDGET_MS,
        "page_p95_ms": round(pct(stats.lat["page"], 95), 1),
        "refused": counts["refused"],
        "errors": sum(stats.outcomes[op]["error"] for op in stats.outcomes),
        "cases": n_cases,
        "cases_check_ms": round(cases_ms, 1),
        "content_check_ms": round(check_ms, 1),
    }
    if load.exam is not None:
        out |= {
            "exam_candidates": args.with_exam,
            "same_minutes_step_p95_ms": round(pct(same["steps"], 95), 1),
            "same_minutes_save_p95_ms": round(pct(same["saves"], 95), 1),
            "same_minutes_step_p50_ms": round(pct(same["steps"], 50), 1),
            "same_minutes_save_p50_ms": round(pct(same["saves"], 50), 1),
            "slices_step_p95_le_save": f"{won}/{len(same['slices'])}",
            "exam_errors": sum(load.exam.outcomes[op]["error"] for op in load.exam.outcomes),
        }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
