"""Benchmark: grade a 100-question attempt (DESIGN §5: ≤ 5 ms). Reported, not asserted.

    python -m tests.bench.grading [--questions 100] [--repeat 200]

1. Pure grading: 100 questions drawn from the shipped banks (every type they use, in the
   banks' proportions), each with a random valid response (right, partly right or wrong),
   graded through the type registry (``check`` + ``grade``) as ``finish_attempt`` does.
2. The whole submit on SQLite: ``exams.services.finish_attempt`` of a saved 100-question
   attempt (load the answers, grade, write 100 scores and the totals, flush), on a fresh
   database with the shipped content.
Both print min / median / p95 / max over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _stats(label: str, times: list[float]) -> None:
    times = sorted(t * 1000 for t in times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"  {label:<34} min {times[0]:7.3f} ms  median {statistics.median(times):7.3f} ms  "
        f"p95 {p95:7.3f} ms  max {times[-1]:7.3f} ms   (target ≤ 5 ms)"
    )


def random_response(qtype: str, data: dict, rng: random.Random):
    """A valid response as the answer page would post it (before ``check``)."""
    if qtype == "multichoice":
        n = len(data["answers"])
        if data.get("single", True):
            return [rng.randrange(n)]
        return rng.sample(range(n), rng.randint(1, n))
    if qtype == "truefalse":
        return rng.random() < 0.5
    if qtype == "shortanswer":
        return rng.choice([a["text"] for a in data["answers"]] + ["不知道"])
    if qtype == "numerical":
        return rng.choice([a["text"] for a in data["answers"]] + ["12345"])
    if qtype == "matching":  # a pair with no left side is a distractor: an option, no item
        rights = [r for _, r in data["pairs"]]
        return [rng.choice(rights) for left, _ in data["pairs"] if left]
    if qtype == "ordering":
        order = list(range(len(data["order"])))
        rng.shuffle(order)
        return order
    if qtype == "essay":
        return "先核对身份证和户口簿，再一次性告知需要补的材料。"
    return None


def _questions(n: int, rng: random.Random) -> list[tuple[str, dict]]:
    from academy.content.loader import load_content
    from academy.questions.bankfile import parse_bank
    from academy.questions.services import version_data

    bundle = load_content(ROOT)
    specs = []
    for doc in bundle.documents["question_banks"]:
        parsed, _problems = parse_bank(doc.data, doc.path, bundle.known_slugs)
        specs.extend(parsed)
    rng.shuffle(specs)
    return [(s.type, version_data(s)) for s in specs[:n]]


def pure(n: int, repeat: int, seed: int) -> None:
    from academy.questions.types import get_type

    rng = random.Random(seed)
    questions = _questions(n, rng)
    responses = [random_response(t, d, rng) for t, d in questions]
    kinds = [get_type(t) for t, _ in questions]
    counts: dict[str, int] = {}
    for t, _ in questions:
        counts[t] = counts.get(t, 0) + 1
    print(f"pure grading of {len(questions)} questions: {counts}")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for kind, (_, data), raw in zip(kinds, questions, responses, strict=True):
            if raw is None or not kind.auto_marked:
                continue
            kind.grade(data, kind.check(data, raw))
        times.append(time.perf_counter() - started)
    _stats("check + grade (registry)", times)


def submit(n: int, repeat: int, seed: int) -> None:
    from academy import create_app
    from academy.content.loader import load_content
    from academy.content.sync import sync_content
    from academy.exams import services
    from academy.exams.models import AttemptState, Exam, ExamSection, ExamStatus
    from academy.extensions import db
    from academy.questions.types import get_type
    from academy.regions.models import (
        County,
        StationTier,
        Township,
        TownshipKind,
        Village,
        VillageKind,
    )
    from academy.roster.models import Agent, AgentKind, Posting

    rng = random.Random(seed)
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/grading.db",
                "SECRET_KEY": "bench",
                "CONTENT_ROOT": str(ROOT),
            }
        )
        app.instance_path = tmp
        with app.app_context():
            db.create_all()
            sync_content(load_content(ROOT))
            county = County(name="基准县")
            town = Township(county=county, name="基准镇", kind=TownshipKind.TOWN)
            village = Village(
                township=town, name="基准村", kind=VillageKind.VILLAGE, tier=StationTier.STANDARD
            )
            agents = []
            for i in range(repeat):
                agent = Agent(name=f"考生{i}", phone=f"139{i:08d}")
                db.session.add(
                    Posting(
                        agent=agent,
                        village=village,
                        kind=AgentKind.FULL_TIME,
                        joined_on=today,
                    )
                )
                agents.append(agent)
            exam = Exam(
                title="基准考试",
                status=ExamStatus.PUBLISHED,
                time_limit_minutes=120,
                attempts_allowed=None,
            )
            exam.sections = [
                ExamSection(
                    position=1,
                    title="全部",
                    points=1.0,
                    counts={"any": n},
                    item_ids=[],
                    qtypes=[],
                    question_ids=[],
                )
            ]
            db.session.add(exam)
            db.session.commit()
            attempts = []
            for agent in agents:
                attempt = services.start_attempt(exam, agent, None)
                db.session.flush()
                data = services.version_data(a.version_id for a in attempt.answers)
                for a in attempt.answers:
                    raw = random_response(a.qtype, data[a.version_id], rng)
                    kind = get_type(a.qtype)
                    a.response = None if raw is None else kind.check(data[a.version_id], raw)
                attempts.append(attempt.id)
            db.session.commit()
            print(f"submit of a saved {n}-question attempt on SQLite, {repeat} attempts:")
            times = []
            for attempt_id in attempts:
                db.session.expunge_all()
                attempt = db.session.get(services.Attempt, attempt_id)
                started = time.perf_counter()
                services.finish_attempt(attempt, services.FinishReason.SUBMITTED)
                times.append(time.perf_counter() - started)
                assert attempt.state in (AttemptState.GRADED, AttemptState.MARKING)
            db.session.commit()
            _stats("finish_attempt (load, grade, write)", times)
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    pure(args.questions, args.repeat, args.seed)
    submit(args.questions, min(args.repeat, 50), args.seed)


if __name__ == "__main__":
    main()
