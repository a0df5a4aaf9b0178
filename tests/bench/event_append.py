"""What appending a learning event costs a request (the issue: "appending must not slow the
request measurably").

A save-like request, as the practice page does it, in a fresh session each time: load the
learner, load their module progress, change the practice answers, commit. It is timed
without the append and with ``activity.services.record_event`` three ways — township and
village passed as ids (the hot path), only the agent id given (the INSERT looks the posting
up itself), and the agent object with its posting loaded (against a baseline that loads the
posting too) — in rounds, each round in a new random order, so that drift in the machine's
load hits every variant alike. Then the practice POST itself through the Flask test client,
with the learning service's append and with it replaced by a no-op. Reports median and p95
in µs on SQLite (a file, WAL, as in production) and on PostgreSQL when a URL is given.

    python -m tests.bench.event_append [--database-url postgresql+psycopg://…] [-n 2000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "bench_event_append"


def make_app(url: str):
    from academy import create_app
    from academy.config import TestConfig

    return create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
            "CONTENT_ROOT": str(REPO_ROOT),
        }
    )


def build(app) -> dict:
    """A township, a village, an agent and a module with some progress."""
    import yaml

    from academy.content.loader import ContentDoc
    from academy.extensions import db
    from academy.learning.models import ModuleProgress, ProgressStatus
    from academy.learning.services import module_or_none, sync_modules
    from tests import factories
    from tests.content_samples import valid_module

    with app.app_context():
        db.drop_all()
        db.create_all()
        world = factories.build_world()
        data = valid_module(world.item.slug)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        sync_modules([ContentDoc(f"courses/{world.item.slug}.yaml", data, text)])
        module = module_or_none(world.item.slug)
        progress = ModuleProgress(
            agent_id=world.east_agent.id,
            module_id=module.id,
            status=ProgressStatus.IN_PROGRESS,
            section="materials",
            practice={},
        )
        db.session.add(progress)
        db.session.commit()
        ids = dict(
            agent=world.east_agent.id,
            module=module.id,
            title=module.title,
            township=world.east.id,
            village=world.east_village.id,
        )
        db.session.remove()
    return ids


_STAMPS = itertools.count()


def save_request(ids: dict, variant: str, n: int) -> None:
    """One request's work: load, change, (append), commit — in a fresh session."""
    from sqlalchemy.orm import selectinload

    from academy.activity.models import ObjectType, Verb
    from academy.activity.services import record_event
    from academy.extensions import db
    from academy.learning.models import ModuleProgress
    from academy.roster.models import Agent, Posting

    session = db.session
    if variant.endswith("posting loaded"):
        agent = session.scalar(
            sa.select(Agent)
            .options(selectinload(Agent.postings).joinedload(Posting.village))
            .where(Agent.id == ids["agent"])
        )
    else:
        agent = session.get(Agent, ids["agent"])
    progress = session.scalar(
        sa.select(ModuleProgress).where(
            ModuleProgress.agent_id == agent.id, ModuleProgress.module_id == ids["module"]
        )
    )
    part = ("materials", "channel", "order", "form")[n % 4]
    # a value no earlier request wrote: every request really UPDATEs the row
    stamp = next(_STAMPS)
    progress.practice = {**(progress.practice or {}), part: {"correct": n % 3 != 0, "n": stamp}}
    progress.section = part
    session.flush()
    common = dict(
        result={"success": n % 3 != 0, "errors": n % 3, "response": "m1[,]m2"},
        context={"parent": f"module:{ids['module']}", "part": part},
    )
    name = f"{ids['title']} · 练习"
    object_id = f"{ids['module']}/{part}"
    if variant == "ids passed (hot path)":
        record_event(
            Verb.ANSWERED,
            ObjectType.PRACTICE,
            object_id,
            name,
            agent=agent.id,
            township_id=ids["township"],
            village_id=ids["village"],
            **common,
        )
    elif variant == "agent id only (subquery)":
        record_event(Verb.ANSWERED, ObjectType.PRACTICE, object_id, name, agent=agent.id, **common)
    elif variant == "agent object, posting loaded":
        record_event(Verb.ANSWERED, ObjectType.PRACTICE, object_id, name, agent=agent, **common)
    session.commit()
    db.session.remove()


VARIANTS = (
    "no event",
    "ids passed (hot path)",
    "agent id only (subquery)",
    "no event, posting loaded",
    "agent object, posting loaded",
)
BASELINE = {
    "ids passed (hot path)": "no event",
    "agent id only (subquery)": "no event",
    "agent object, posting loaded": "no event, posting loaded",
}


def report(times: dict[str, list[float]], baseline: dict[str, str]) -> None:
    """Median and p95 per variant; against its baseline, the difference of medians and the
    median of the paired differences (same round, adjacent in time: drift cancels out)."""
    print(
        f"{'variant':<32} | {'median µs':>9} | {'p95 µs':>8} | {'+median µs':>10} | "
        f"{'+paired µs':>10} | {'+%':>6}"
    )
    print("-" * 91)
    for variant, values in times.items():
        med = statistics.median(values)
        if variant in baseline:
            base_values = times[baseline[variant]]
            base = statistics.median(base_values)
            paired = statistics.median(a - b for a, b in zip(values, base_values, strict=True))
            extra = f"{med - base:10.0f} | {paired:10.0f} | {100 * paired / base:5.1f}%"
        else:
            extra = f"{'':>10} | {'':>10} | {'':>6}"
        print(f"{variant:<32} | {med:9.0f} | {p95(values):8.0f} | {extra}")


def http_requests(app, ids: dict, n: int) -> dict[str, list[float]]:
    """POST /learn/<slug>/practice/materials as the learner, with the learning service's
    record_event working or replaced by a no-op (alternating)."""
    from academy.auth.models import Role, User
    from academy.extensions import db
    from academy.learning import services as learning
    from academy.learning.models import Module

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.role == Role.AGENT))
        user_id = user.get_id()
        slug = db.session.get(Module, ids["module"]).slug
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = user_id
        s["_fresh"] = True
    real = learning.record_event
    out: dict[str, list[float]] = {"no event": [], "with event": []}
    url = f"/learn/{slug}/practice/materials"
    flip = False
    try:
        for k in range(n + 20):
            for variant in out:
                learning.record_event = real if variant == "with event" else _no_event
                t0 = time.perf_counter_ns()
                # the answer changes on every request, so each one really writes the progress
                flip = not flip
                resp = client.post(url, data={"choice": ["m1", "m2"] if flip else ["m1"]})
                took = (time.perf_counter_ns() - t0) / 1000
                assert resp.status_code == 302, resp.status_code
                if k >= 20:
                    out[variant].append(took)
    finally:
        learning.record_event = real
    return out


def _no_event(*args, **kwargs) -> None:
    return None


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def run(label: str, url: str, iterations: int, warmup: int) -> None:
    from academy.extensions import db

    app = make_app(url)
    ids = build(app)
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with app.app_context():
        for n in range(warmup):
            save_request(ids, VARIANTS[n % len(VARIANTS)], n)
        order = list(VARIANTS)
        shuffle = random.Random(2026).shuffle
        for n in range(iterations):
            shuffle(order)  # every round in a new order: drift and position hit all alike
            for variant in order:
                t0 = time.perf_counter_ns()
                save_request(ids, variant, n)
                times[variant].append((time.perf_counter_ns() - t0) / 1000)
        events = db.session.scalar(sa.text("SELECT count(*) FROM learning_event"))
        db.session.remove()
        db.engine.dispose()
    http = http_requests(app, ids, max(100, iterations // 4))
    print(f"\n== {label}: {iterations} timed requests per variant ({events:,} events written)")
    report(times, BASELINE)
    print(f"\n   the practice POST through the Flask test client ({len(http['with event'])} each):")
    report(http, {"with event": "no event"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    ap.add_argument("-n", "--iterations", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(
            "SQLite (file, WAL)",
            "sqlite:///" + str(Path(tmp) / "append.db"),
            args.iterations,
            args.warmup,
        )
    if args.database_url:
        from academy.config import normalise_db_url
        from tests.bench.province import schema_url

        admin = sa.create_engine(normalise_db_url(args.database_url))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA "{SCHEMA}"')
        try:
            run("PostgreSQL", schema_url(args.database_url, SCHEMA), args.iterations, args.warmup)
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
