"""Benchmark: import a 50,000-row roster workbook (DESIGN §5: ≤ 10 s). Reported, not asserted.

    python -m tests.bench.roster_import --rows 50000
    python -m tests.bench.roster_import --rows 50000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Builds a fresh demo database (schema, content sync, the 新昌县 demo data) in a temporary
SQLite file, or in a schema of its own on PostgreSQL, then writes a workbook like one a
county would upload: every active demo agent (most unchanged, some with a new phone, some
moved to another village, some leaving) and new agents up to ``--rows``. It times, as the
county admin, reading + checking the file, planning against the roster, and committing
(with the onboarding plans of every new agent), then plans the same file again (now all
rows are unchanged, as when an export is re-imported).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from academy.roster.rules import id_check_char

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "bench_roster_import"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile the commit step")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url, cleanup = _database(args.database_url, Path(tmp))
        try:
            _run(url, args.rows, args.seed, Path(tmp), args.profile)
        finally:
            cleanup()


def _database(url: str | None, tmp: Path):
    if not url:
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None
    from academy.config import normalise_db_url

    base = normalise_db_url(url)
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{SCHEMA}"')

    def cleanup():
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        engine.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{SCHEMA}", cleanup


def _run(url: str, rows: int, seed: int, tmp: Path, profile: bool = False) -> None:
    from academy import create_app
    from academy.auth.models import User
    from academy.content.loader import load_content
    from academy.content.sync import sync_content
    from academy.demo.seed import seed_demo_data
    from academy.extensions import db
    from academy.learning.models import Curriculum, OnboardingPlan
    from academy.roster import excel, importer
    from academy.roster.models import Agent, Posting

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "CONTENT_ROOT": str(ROOT),
        }
    )
    app.instance_path = str(tmp)
    with app.app_context():
        started = time.perf_counter()
        _import_all_models()
        db.create_all()
        sync_content(load_content(ROOT))
        seed_demo_data()
        db.session.commit()
        print(
            f"database: {db.engine.dialect.name}, demo loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )

        specs = _workbook_rows(rows, seed)
        started = time.perf_counter()
        data = excel.export_workbook(specs)
        print(
            f"workbook: {len(specs):,} rows, {len(data) / 1e6:.1f} MB "
            f"(written in {time.perf_counter() - started:.1f} s, not timed)"
        )

        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        before = {m: count(m) for m in (Agent, Posting, OnboardingPlan, Curriculum)}

        # Time the onboarding plans (part of the commit) on their own.
        plans_took = []
        create_plans = importer.create_plans

        def timed_create_plans(*a, **kw):
            started = time.perf_counter()
            try:
                return create_plans(*a, **kw)
            finally:
                plans_took.append(time.perf_counter() - started)

        importer.create_plans = timed_create_plans

        t0 = time.perf_counter()
        parsed = excel.read_roster(data, date.today())
        t1 = time.perf_counter()
        plan = importer.plan_import(admin, parsed.specs)
        t2 = time.perf_counter()
        assert not parsed.problems and not plan.problems, (parsed.problems + plan.problems)[:5]
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        summary = importer.commit_import(admin, plan, "bench.xlsx")
        db.session.commit()
        t3 = time.perf_counter()
        if profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        print(f"rows: {plan.counts}")
        print(f"  read + check   {t1 - t0:6.2f} s")
        print(f"  plan           {t2 - t1:6.2f} s")
        print(
            f"  commit         {t3 - t2:6.2f} s"
            f"   (of which onboarding plans {sum(plans_took):.2f} s)"
        )
        print(f"  total          {t3 - t0:6.2f} s   (target ≤ 10 s)")
        after = {m: count(m) for m in before}
        print(
            "written: "
            + ", ".join(f"{m.__tablename__} +{after[m] - before[m]:,}" for m in before)
            + f"; plans reported {summary.plans:,}"
        )

        t4 = time.perf_counter()
        parsed = excel.read_roster(data, date.today())
        again = importer.plan_import(admin, parsed.specs)
        t5 = time.perf_counter()
        print(f"re-import of the same file: {again.counts} — read + plan {t5 - t4:.2f} s")


def _import_all_models() -> None:
    """Every feature's models, so that create_all makes every table content sync needs."""
    import importlib
    import pkgutil

    import academy

    for module in pkgutil.iter_modules(academy.__path__):
        if module.ispkg and (Path(academy.__path__[0]) / module.name / "models.py").exists():
            importlib.import_module(f"academy.{module.name}.models")


def _workbook_rows(rows: int, seed: int):
    """Every active demo agent (a few changed) plus new agents up to ``rows``."""
    from sqlalchemy.orm import joinedload

    from academy.extensions import db
    from academy.regions.models import Village
    from academy.roster.excel import RowSpec
    from academy.roster.models import AgentKind, Education, Gender, LeaveReason, Posting

    rng = random.Random(seed)
    today = date.today()
    postings = db.session.scalars(
        sa.select(Posting)
        .options(
            joinedload(Posting.agent), joinedload(Posting.village).joinedload(Village.township)
        )
        .where(Posting.left_on.is_(None))
        .order_by(Posting.id)
    ).all()
    villages = db.session.scalars(
        sa.select(Village).options(joinedload(Village.township)).order_by(Village.id)
    ).all()
    by_township: dict[int, list] = {}
    for v in villages:
        by_township.setdefault(v.township_id, []).append(v)
    used_ids = {p.agent.id_number for p in postings}
    used_phones = {p.agent.phone for p in postings}

    out = []
    for n, p in enumerate(postings):
        a = p.agent
        village, phone, joined = p.village, a.phone, p.joined_on
        left = reason = None
        if n % 20 == 1:  # a new mobile number
            phone = _phone(rng, used_phones)
        elif n % 20 == 2 and joined < today:  # moved within the township today
            village = rng.choice([v for v in by_township[village.township_id] if v is not village])
            joined = today
        elif n % 20 == 3:  # left
            left, reason = today, LeaveReason.RESIGNED
        out.append(
            RowSpec(
                row=0,
                township=village.township.name,
                village=village.name,
                name=a.name,
                phone=phone,
                kind=p.kind,
                joined_on=joined,
                id_number=a.id_number,
                birth_year=a.birth_year,
                gender=a.gender,
                education=a.education,
                left_on=left,
                leave_reason=reason,
            )
        )
    surnames, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗",
        "建国海燕丽君伟军小红美芳志强立新晓燕春燕",
    )
    while len(out) < rows:
        village = rng.choice(villages)
        gender = rng.choice([Gender.MALE, Gender.FEMALE])
        born = date(rng.randint(today.year - 60, today.year - 20), 1, 1) + timedelta(
            days=rng.randint(0, 364)
        )
        while True:
            seq = rng.randint(0, 99) * 10 + rng.choice(
                [1, 3, 5, 7, 9] if gender == Gender.MALE else [0, 2, 4, 6, 8]
            )
            first17 = f"{rng.randint(110000, 659000)}{born:%Y%m%d}{seq:03d}"
            id_number = first17 + id_check_char(first17)
            if id_number not in used_ids:
                used_ids.add(id_number)
                break
        out.append(
            RowSpec(
                row=0,
                township=village.township.name,
                village=village.name,
                name=rng.choice(surnames) + "".join(rng.sample(given, 2)),
                phone=_phone(rng, used_phones),
                kind=rng.choice(list(AgentKind)),
                joined_on=today - timedelta(days=rng.randint(0, 2000)),
                id_number=id_number if rng.random() < 0.9 else None,
                birth_year=born.year,
                gender=gender,
                education=rng.choice(list(Education)),
            )
        )
    return out


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        phone = (
            rng.choice(["135", "137", "138", "139", "158", "188"]) + f"{rng.randrange(10**8):08d}"
        )
        if phone not in used:
            used.add(phone)
            return phone


if __name__ == "__main__":
    os.environ.setdefault("FLASK_DEBUG", "0")
    main()
