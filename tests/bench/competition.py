"""Competition benchmark: aggregation with flags and ranking (≤ 1 s), the many-facet Rasch
estimate (≤ 5 s) on 500 candidates × 20 criteria × 5 judges, and a judge's mark save with
40 judges saving at once against the real app on PostgreSQL (p95 ≤ 50 ms). Reported, not
asserted; the figures are printed last as one JSON line.

    python -m tests.bench.competition
    python -m tests.bench.competition --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m tests.bench.competition --server waitress --threads 8
    python -m tests.bench.competition --no-http                  # the pure parts only
    python -m tests.bench.competition --no-http --consistent     # very consistent judges

1. Pure, in-process: synthetic marks for ``--candidates`` (500) × ``--criteria`` (20, half
   0–3 judgements, half 0–10 measurements, a third of them 应急处置) × ``--judges-per``
   (5) judges drawn from a pool of 40, drawn from the many-facet rating-scale model
   (abilities, judge severities, criterion difficulties, three steps), so judges disagree
   as real panels do and candidates get flagged. Timed: ``rules.score_round``
   (trimmed mean with ≥ 5 judges, spreads and flags), the standings and ``rules.rank``
   (tie-break) — the median of ``--repeat`` (5) runs, the first one shown too — and
   ``rasch.estimate`` on the same marks mapped to categories as the rater analysis does
   (``outcomes.rater_analysis``): once (it is seconds, not milliseconds).
2. HTTP: a fresh schema ``bench_competition`` (migrations, or ``db.create_all()`` if they lag
   the models), a running competition built through the services: ``--http-judges`` (40)
   expert judges with users ``judge01…`` (password: ``tests.factories.PASSWORD``),
   ``--http-candidates`` (80) candidates in 8 townships, one live round with the same
   20-criterion scheme, each candidate assigned 5 judges (so 10 per judge). The app runs
   under gunicorn (sync workers, 2×cores+1) or waitress as a subprocess (production config,
   CSRF on), as exam_day does.
   Every judge logs in (aiohttp, a cookie jar each) and opens the marking page of each of
   their candidates (the CSRF token and the sheet's seq). Then:
   - **solo** (``--solo``, 40): one judge saves one after another, nobody else busy →
     ``solo_p50_ms``, the service time on this machine as loaded right now (with
     ``loadavg_1m``: the machine is shared, read the other figures against these two);
   - **sustained** (``--duration``, 20 s): all 40 judges mark at once, each saving one of
     their candidates every ``--save-interval`` (2 s, ± 30 %; the page saves a draft
     200–600 ms after a change) with all 20 criteria, ``Accept: application/json``,
     ``X-CSRFToken`` and seq + 1, as judge.js sends it → ``save_p95_ms``;
   - **bursts** (``--bursts``, 5): all 40 judges press save in the same instant → ``burst_*``
     (a wall of requests: the queue behind the workers, the worst case);
   - **verification**: every acknowledged save (200, not stale) is remembered; afterwards
     each sheet must hold the last acknowledged seq and exactly its marks (``lost`` must be 0).
The schema is dropped afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

DEFAULT_DB = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SCHEMA = "bench_competition"
DIMENSIONS = ("knowledge", "etiquette", "emergency")
STEPS = (-3.0, 0.0, 3.0)  # the rating scale's steps (logits): judges mostly agree


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


# --------------------------------------------------------------------------------------
# 1. pure: aggregation, ranking, Rasch
# --------------------------------------------------------------------------------------


def scheme(n: int):
    """(title, kind, max_points, dimension) per criterion: alternate judgement (0–3) and
    measurement (0–10); every third criterion 应急处置."""
    out = []
    for i in range(n):
        kind = "judgement" if i % 2 == 0 else "measurement"
        out.append(
            (f"指标{i + 1:02d}", kind, 3.0 if kind == "judgement" else 10.0, DIMENSIONS[i % 3])
        )
    return out


def synthetic_marks(candidates: int, criteria: list, per: int, pool: int, rng: random.Random):
    """``{(candidate, criterion): {judge: value}}`` drawn from the rating-scale many-facet
    model itself: ability N(0, 1), judge severity N(0, 0.4), criterion difficulty N(0, 0.5),
    steps −3 / 0 / +3 logits (panels mostly agree within a level); a measurement is
    objective: the candidate's level on the 0–10 scale, each judge off by N(0, 0.4) points.
    Each candidate gets ``per`` judges of the pool. With 10 judgement criteria most
    candidates get at least one flag (five judges 2 levels apart somewhere): the flag path's
    worst case."""
    ability = [rng.gauss(0, 1) for _ in range(candidates)]
    severity = [rng.gauss(0, 0.4) for _ in range(pool)]
    difficulty = [rng.gauss(0, 0.5) for _ in criteria]
    steps = STEPS
    marks: dict[tuple[int, int], dict[int, float]] = {}
    for c in range(candidates):
        panel = rng.sample(range(pool), per)
        for k, (_t, kind, top, _d) in enumerate(criteria):
            cell = {}
            for j in panel:
                eta = ability[c] - difficulty[k] - severity[j]
                weights, acc = [1.0], 0.0
                for f in steps:
                    acc += eta - f
                    weights.append(math.exp(acc))
                cat = rng.choices(range(4), weights)[0]
                if kind == "judgement":
                    cell[j] = float(cat)
                else:
                    # an objective measure: the candidate's level, little judge noise
                    share = 1 / (1 + math.exp(-(ability[c] - difficulty[k]) / 1.5))
                    pts = round((share * top + rng.gauss(0, 0.4)) * 2) / 2
                    cell[j] = min(top, max(0.0, pts))
            marks[(c, k)] = cell
    return marks


def consistent_marks(candidates: int, criteria: list, per: int, pool: int, rng: random.Random):
    """Very consistent judges (``--consistent``): each mark is the candidate's logistic
    level with little noise (sd 0.15–0.5 logits, severity sd 0.3), so the categories come
    close to a Guttman pattern — the case where JMLE converges slowly."""
    ability = [rng.gauss(0, 1) for _ in range(candidates)]
    severity = [rng.gauss(0, 0.3) for _ in range(pool)]
    noise = [rng.uniform(0.15, 0.5) for _ in range(pool)]
    marks: dict[tuple[int, int], dict[int, float]] = {}
    for c in range(candidates):
        panel = rng.sample(range(pool), per)
        for k, (_t, kind, top, _d) in enumerate(criteria):
            cell = {}
            for j in panel:
                share = 1 / (1 + math.exp(-(ability[c] - severity[j] + rng.gauss(0, noise[j]))))
                if kind == "judgement":
                    cell[j] = float(min(3, max(0, round(share * 3))))
                else:
                    cell[j] = round(share * top * 2) / 2
            marks[(c, k)] = cell
    return marks


def time_aggregate(candidates: int, criteria: list, marks, repeat: int) -> dict:
    from academy.competition import rules

    crits = [
        rules.Criterion(k, rules.CriterionKind(kind), top, dim)
        for k, (_t, kind, top, dim) in enumerate(criteria)
    ]
    written = {c: (c * 37) % 101 for c in range(candidates)}  # a written round's percent
    times, flagged, ranked = [], 0, []
    for _ in range(repeat):
        started = time.perf_counter()
        results = rules.score_round(crits, range(candidates), marks)
        standings = [
            rules.Standing(
                c,
                total=r.percent,
                emergency=r.dimension_percent("emergency") or 0.0,
                written=float(written[c]),
            )
            for c, r in results.items()
        ]
        ranked = rules.rank(standings)
        times.append(time.perf_counter() - started)
        flagged = sum(1 for r in results.values() if r.flags)
    flags = sum(len(r.flags) for r in results.values())
    ties = sum(1 for r in ranked if r.tie_broken_by)
    ms = [t * 1000 for t in times]
    print(
        f"  aggregate + flags + rank: median {statistics.median(ms):7.1f} ms  first {ms[0]:7.1f} ms"
        f"  ({flagged} candidates flagged, {flags} flags, {ties} placed by the tie-break)"
        "   (target ≤ 1000 ms)"
    )
    return {"aggregate_ms": round(statistics.median(ms), 1), "flagged": flagged}


def time_rasch(criteria: list, marks) -> dict:
    from academy.competition import rasch

    obs = []
    for (cand, k), panel in marks.items():
        kind, top = criteria[k][1], criteria[k][2]
        for judge, value in panel.items():
            cat = int(value) if kind == "judgement" else rasch.categories_for_points(value, top)
            obs.append(rasch.Observation(cand, judge, k, cat))
    started = time.perf_counter()
    est = rasch.estimate(obs)
    ms = (time.perf_counter() - started) * 1000
    misfits = sum(1 for e in est.judges.values() if e.misfit)
    print(
        f"  Rasch estimate ({len(obs)} observations): {ms:7.0f} ms, {est.iterations} iterations,"
        f" converged {est.converged}, {misfits} judges misfitting   (target ≤ 5000 ms)"
    )
    return {
        "rasch_ms": round(ms, 1),
        "rasch_iterations": est.iterations,
        "rasch_converged": est.converged,
    }


# --------------------------------------------------------------------------------------
# 2. HTTP: 40 judges saving at once
# --------------------------------------------------------------------------------------


@dataclass
class Venue:
    round_id: int
    criteria: list[tuple[int, str, float]]  # id, kind, max points
    judges: dict[str, list[int]]  # username → assigned entry ids
    seconds: float
    schema_how: str


def prepare(url: str, judges: int, candidates: int, criteria: list) -> Venue:
    from academy.auth.models import Role
    from academy.competition import judging, services
    from academy.competition.models import Assignment, CompetitionJudge, CriterionKind, RoundKind
    from academy.extensions import db
    from academy.questions.models import Dimension
    from tests import factories
    from tests.bench.province import build_schema, make_app

    started = time.perf_counter()
    app = make_app(url)
    with app.app_context():
        how = build_schema(app)
        today = date.today()
        w = factories.build_world()
        towns = [factories.township(w.county, f"基准{i}镇") for i in range(8)]
        villages = [factories.village(t) for t in towns]
        agents = [factories.agent(villages[i % 8]) for i in range(candidates)]
        comp = services.create_competition(
            w.admin,
            year=today.year,
            title="基准比武",
            joined_before=today,
            registration_closes_on=today + timedelta(days=7),
            quota_per_township=-(-candidates // 8),
        )
        live = services.add_round(
            w.admin,
            comp,
            kind=RoundKind.LIVE,
            title="现场情景演练",
            weight=100,
            judges_per_candidate=5,
        )
        rows = [
            services.CriterionRow(
                title,
                CriterionKind(kind),
                top,
                Dimension[dim.upper()],
                ["未做到", "基本做到", "做得较好", "规范自然"] if kind == "judgement" else [],
            )
            for title, kind, top, dim in criteria
        ]
        services.set_criteria(w.admin, live, rows)
        users = []
        for i in range(judges):
            u = factories.user(Role.EXPERT, f"judge{i + 1:02d}")
            users.append(u)
            services.add_judge(w.admin, comp, u)
        services.set_chief_judge(w.admin, comp, users[0])
        services.open_registration(w.admin, comp)
        for a in agents:
            services.nominate(w.admin, comp, a, today)
        services.close_registration(w.admin, comp)
        judging.assign(w.admin, live, seed=1)
        db.session.commit()
        codes = {
            j.id: next(u.username for u in users if u.id == j.user_id)
            for j in db.session.scalars(
                sa.select(CompetitionJudge).where(CompetitionJudge.competition_id == comp.id)
            )
        }
        assigned: dict[str, list[int]] = {}
        for a in db.session.scalars(sa.select(Assignment).where(Assignment.round_id == live.id)):
            assigned.setdefault(codes[a.judge_id], []).append(a.entry_id)
        venue = Venue(
            live.id,
            [(c.id, c.kind.value, c.max_points) for c in live.criteria],
            assigned,
            time.perf_counter() - started,
            how,
        )
        db.session.remove()
        db.engine.dispose()
    return venue


@dataclass
class Judge:
    username: str
    entries: list[int]
    session: object = None
    csrf: str = ""
    seq: dict[int, int] = field(default_factory=dict)
    acked: dict[int, tuple[int, dict[str, str]]] = field(default_factory=dict)


@dataclass
class Load:
    solo: list[float] = field(default_factory=list)
    sustained: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stale: int = 0
    saves: int = 0
    login: list[float] = field(default_factory=list)


def _values(venue: Venue, rng: random.Random) -> dict[str, str]:
    out = {}
    for cid, kind, top in venue.criteria:
        if kind == "judgement":
            out[f"c{cid}"] = str(rng.randint(0, 3))
        else:
            out[f"c{cid}"] = f"{rng.randint(0, int(top) * 2) / 2:g}"
    return out


async def _login(base: str, j: Judge, venue: Venue, load: Load) -> None:
    import aiohttp

    from tests.bench.exam_day import csrf_of

    started = time.perf_counter()
    async with j.session.get(base + "/login") as r:
        token = csrf_of(await r.text())
    from tests.factories import PASSWORD

    form = {"csrf_token": token, "username": j.username, "password": PASSWORD}
    async with j.session.post(base + "/login", data=form) as r:
        if r.status != 200 or "/login" in str(r.url):
            raise SystemExit(f"login of {j.username} failed: {r.status} {r.url}")
    load.login.append(time.perf_counter() - started)
    for e in j.entries:
        async with j.session.get(f"{base}/competitions/rounds/{venue.round_id}/mark/{e}") as r:
            page = await r.text()
            if r.status != 200:
                raise SystemExit(f"marking page {e} of {j.username}: {r.status}")
        j.csrf = csrf_of(page) or j.csrf
        j.seq[e] = 0
    assert isinstance(j.session, aiohttp.ClientSession)


async def _save(base: str, j: Judge, venue: Venue, rng: random.Random, load: Load, bucket: list):
    e = rng.choice(j.entries)
    j.seq[e] += 1
    values = _values(venue, rng)
    data = {"csrf_token": j.csrf, **values, "comment": "", "seq": str(j.seq[e]), "submit": "0"}
    headers = {"Accept": "application/json", "X-CSRFToken": j.csrf}
    url = f"{base}/competitions/rounds/{venue.round_id}/mark/{e}"
    started = time.perf_counter()
    try:
        async with j.session.post(url, data=data, headers=headers) as r:
            body = await r.json(content_type=None) if r.status == 200 else await r.text()
            status = r.status
    except Exception as err:  # timeouts, resets: counted, with an example
        load.errors.append(f"{j.username} {e}: {err!r}")
        return
    bucket.append(time.perf_counter() - started)
    load.saves += 1
    if status != 200:
        load.errors.append(f"{j.username} {e}: HTTP {status} {str(body)[:120]}")
    elif body.get("stale"):
        load.stale += 1
    else:
        j.acked[e] = (j.seq[e], values)


async def run_load(base: str, venue: Venue, args, rng: random.Random) -> tuple[Load, list[Judge]]:
    import aiohttp

    load = Load()
    judges = [Judge(u, sorted(es)) for u, es in sorted(venue.judges.items())]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    sessions = []
    try:
        for j in judges:
            j.session = aiohttp.ClientSession(
                connector=connector,
                connector_owner=False,
                timeout=timeout,
                cookie_jar=aiohttp.CookieJar(unsafe=True),
            )
            sessions.append(j.session)
        # logins a few at a time (each hashes a password on the server)
        sem = asyncio.Semaphore(4)

        async def login(j):
            async with sem:
                await _login(base, j, venue, load)

        await asyncio.gather(*(login(j) for j in judges))
        print(f"  {len(judges)} judges logged in and opened their candidates", flush=True)

        # solo: one judge alone saving one after another (the service time on this machine)
        for _ in range(args.solo):
            await _save(base, judges[0], venue, rng, load, load.solo)

        # sustained: everyone marking at once, a save every interval ± 30 %
        end = time.perf_counter() + args.duration

        async def judge_loop(j: Judge, r: random.Random):
            await asyncio.sleep(r.uniform(0, args.save_interval))
            while time.perf_counter() < end:
                await _save(base, j, venue, r, load, load.sustained)
                await asyncio.sleep(args.save_interval * r.uniform(0.7, 1.3))

        await asyncio.gather(*(judge_loop(j, random.Random(rng.random())) for j in judges))
        # bursts: all judges in the same instant
        for _ in range(args.bursts):
            await asyncio.sleep(1.0)
            await asyncio.gather(*(_save(base, j, venue, rng, load, load.burst) for j in judges))
    finally:
        for s in sessions:
            await s.close()
        await connector.close()
    return load, judges


def verify(url: str, venue: Venue, judges: list[Judge]) -> int:
    """Acknowledged saves missing from the database (must be 0)."""
    from academy.auth.models import User
    from academy.competition.models import CompetitionJudge, Sheet
    from academy.extensions import db
    from tests.bench.province import make_app

    app = make_app(url)
    lost = 0
    with app.app_context():
        judge_ids = dict(
            db.session.execute(
                sa.select(User.username, CompetitionJudge.id).join(
                    CompetitionJudge, CompetitionJudge.user_id == User.id
                )
            ).all()
        )
        for j in judges:
            for e, (seq, values) in j.acked.items():
                sheet = db.session.scalar(
                    sa.select(Sheet).where(
                        Sheet.round_id == venue.round_id,
                        Sheet.entry_id == e,
                        Sheet.judge_id == judge_ids[j.username],
                    )
                )
                stored = {f"c{m.criterion_id}": m.value for m in sheet.marks} if sheet else {}
                want = {k: float(v) for k, v in values.items()}
                if sheet is None or sheet.seq != seq or stored != want:
                    lost += 1
        db.session.remove()
        db.engine.dispose()
    return lost


def http_part(args, criteria: list) -> dict:
    from tests.bench.exam_day import Server
    from tests.bench.province import recreate_schema, schema_url

    base_url = args.database_url
    if not base_url.startswith("postgresql"):
        raise SystemExit("--database-url must be PostgreSQL")
    from academy.config import normalise_db_url

    admin = sa.create_engine(normalise_db_url(base_url))
    url = schema_url(base_url, SCHEMA)
    recreate_schema(admin, SCHEMA)
    try:
        print(f"\n== HTTP: set-up in schema {SCHEMA} …", flush=True)
        venue = prepare(url, args.http_judges, args.http_candidates, criteria)
        per_judge = [len(v) for v in venue.judges.values()]
        print(
            f"   set-up {venue.seconds:.1f} s ({venue.schema_how}); {len(venue.judges)} judges,"
            f" {args.http_candidates} candidates × 5 judges, {min(per_judge)}–{max(per_judge)}"
            " candidates per judge",
            flush=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            threads = args.threads or (8 if args.server == "waitress" else 1)
            server = Server(args.server, url, args.workers, threads, args.http_judges, Path(tmp))
            boot = server.start({})
            print(f"   server: {server.describe()} (ready in {boot:.1f} s)", flush=True)
            try:
                load, judges = asyncio.run(
                    run_load(server.base, venue, args, random.Random(args.seed))
                )
            finally:
                server.stop()
        lost = verify(url, venue, judges)
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        admin.dispose()
    s = [t * 1000 for t in load.sustained]
    b = [t * 1000 for t in load.burst]
    rate = len(s) / args.duration if args.duration else 0
    print("  op                        | count |    p50 |    p95 |    p99 |    max (ms)")
    for label, v in (
        ("login (GET+POST /login)", [t * 1000 for t in load.login]),
        ("save, one judge alone", [t * 1000 for t in load.solo]),
        ("save, 40 judges marking", s),
        ("save, all 40 in one instant", b),
    ):
        print(
            f"  {label:<25} | {len(v):5d} | {pct(v, 0.5):6.1f} | {pct(v, 0.95):6.1f} |"
            f" {pct(v, 0.99):6.1f} | {max(v) if v else float('nan'):6.1f}"
        )
    print(
        f"  {load.saves} saves ({rate:.1f}/s sustained), {load.stale} stale, "
        f"{len(load.errors)} errors, {lost} acknowledged saves lost"
        f"   save p95 ≤ 50 ms: {'yes' if pct(s, 0.95) <= 50 else 'no'}"
    )
    for err in load.errors[:5]:
        print(f"    error: {err}")
    return {
        "save_p95_ms": round(pct(s, 0.95), 1),
        "save_p50_ms": round(pct(s, 0.5), 1),
        "saves": len(s),
        "solo_p50_ms": round(pct([t * 1000 for t in load.solo], 0.5), 1),
        "loadavg_1m": round(os.getloadavg()[0], 1),
        "burst_p95_ms": round(pct(b, 0.95), 1),
        "burst_max_ms": round(max(b), 1) if b else None,
        "errors": len(load.errors),
        "lost": lost,
        "server": server.describe(),
    }


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 2
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=500)
    ap.add_argument("--criteria", type=int, default=20)
    ap.add_argument("--judges-per", type=int, default=5)
    ap.add_argument("--judge-pool", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--no-http", action="store_true", help="only the pure parts")
    ap.add_argument(
        "--consistent", action="store_true", help="near-Guttman marks (slow JMLE convergence)"
    )
    ap.add_argument("--database-url", default=DEFAULT_DB)
    ap.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn")
    ap.add_argument("--workers", type=int, default=2 * cores + 1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--http-judges", type=int, default=40)
    ap.add_argument("--http-candidates", type=int, default=80)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--save-interval", type=float, default=2.0)
    ap.add_argument("--bursts", type=int, default=5)
    ap.add_argument("--solo", type=int, default=40, help="saves by one judge alone first")
    ap.add_argument("--keep", action="store_true", help="keep the schema")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    criteria = scheme(args.criteria)
    print(
        f"== pure: {args.candidates} candidates × {args.criteria} criteria × {args.judges_per}"
        f" judges (pool of {args.judge_pool})",
        flush=True,
    )
    make = consistent_marks if args.consistent else synthetic_marks
    marks = make(args.candidates, criteria, args.judges_per, args.judge_pool, rng)
    figures = {}
    figures.update(time_aggregate(args.candidates, criteria, marks, args.repeat))
    figures.update(time_rasch(criteria, marks))
    if not args.no_http:
        figures.update(http_part(args, criteria))
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
