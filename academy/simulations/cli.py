"""`flask simulations play SLUG --path best|worst|random [--seed N]`.

Plays a case through the same services as the web (start_run, submit_step) inside a
transaction that is rolled back, so nothing is kept. The case is read from the content files
(the version an author is writing), falling back to the database. Prints every step and the
score as JSON. Exit code 1 when ``--path best`` does not reach a solved outcome with the full
automatic score (free-text replies are left to experts and reported as pending), 2 when the
case is unknown or invalid.
"""

from __future__ import annotations

import json
import random
import sys

import click
from flask.cli import AppGroup

from academy.extensions import db

simulations_cli = AppGroup("simulations", help="情景模拟案例：试玩、校验最佳路径。")


@simulations_cli.command("play")
@click.argument("slug")
@click.option("--path", "strategy", type=click.Choice(["best", "worst", "random"]), default="best")
@click.option("--seed", type=int, default=0, show_default=True, help="抽取突发情况等的随机种子。")
def play_command(slug: str, strategy: str, seed: int) -> None:
    """Play SLUG along the best, worst or a random path and print the steps as JSON."""
    from academy.content import content_root
    from academy.simulations import rules, services

    doc, problems = _case_file(content_root(), slug)
    try:
        if problems:
            for p in problems:
                click.echo(str(p), err=True)
            sys.exit(2)
        if doc is not None:
            services.sync_cases_one(doc)
        case = services.case_by_slug(slug)
        if case is None:
            click.echo(f"案例 “{slug}” 不存在（simulations/ 中和数据库中都没有）。", err=True)
            sys.exit(2)
        run = services.start_run(None, case, seed=seed, preview=True)
        services.play(run, strategy, random.Random(seed))
        score = services.run_score(run)
        steps = [
            {
                "seq": s.seq,
                "step": s.step_id,
                "kind": s.kind,
                "did": s.result.get("label"),
                "points": s.result.get("points"),
                "correct": s.result.get("correct"),
                "pending": s.pending,
            }
            for s in run.steps
        ]
        out = {
            "case": slug,
            "version": run.version.number,
            "path": strategy,
            "seed": seed,
            "drawn": rules.Case(run.version.document).drawn_events(seed),
            "steps": steps,
            "outcome": run.outcome,
            "score": {
                "total": score.total,
                "auto_total": score.auto_total,
                "dimensions": score.percent,
                "points": score.points,
                "maximum": score.maximum,
                "pending_replies": score.pending,
            },
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        if strategy == "best" and (run.outcome != "solved" or score.auto_total < 100):
            click.echo(
                f"最佳路径没有达到一次办结且满分：结局 {run.outcome}，"
                f"自动评分 {score.auto_total}。",
                err=True,
            )
            sys.exit(1)
    finally:
        db.session.rollback()


def _case_file(root, slug: str):
    """The case file ``simulations/<slug>.yaml`` (validated against the catalogue), if any."""
    from academy.content.catalogue import parse_catalogue
    from academy.content.loader import CATALOGUE_FILE, ContentDoc
    from academy.content.yamlio import load_yaml, parse_yaml, read_text
    from academy.simulations.rules import check_case

    path = root / "simulations" / f"{slug}.yaml"
    if not path.exists():
        return None, []
    display = f"simulations/{slug}.yaml"
    text, problems = read_text(path, display)
    data = None
    if not problems:
        data, problems = parse_yaml(text, display)
    if not problems:
        catalogue, _ = load_yaml(root / CATALOGUE_FILE, CATALOGUE_FILE)
        items, _ = parse_catalogue(catalogue, CATALOGUE_FILE)
        problems = check_case(display, data, {i.slug for i in items})
    return (None if problems else ContentDoc(display, data, text)), problems
