"""`flask simulations play`: every shipped case's best path exits 0; a case whose best path
does not solve the errand in one visit exits 1; nothing is kept in the database."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from academy.content.loader import load_content
from academy.extensions import db
from academy.simulations.models import SimRun
from tests.simcases import ROOT, load_case, sample_case

SLUGS = [d.data["slug"] for d in load_content(ROOT).documents["simulations"]]


@pytest.mark.parametrize("slug", SLUGS)
def test_best_path_of_every_shipped_case_exits_zero(app, world, slug):
    runner = app.test_cli_runner()
    for seed in (0, 1):
        result = runner.invoke(
            args=["simulations", "play", slug, "--path", "best", "--seed", str(seed)]
        )
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["outcome"] == "solved" and out["score"]["auto_total"] == 100
        assert out["steps"][-1]["kind"] == "end"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SimRun)) == 0


def test_worst_and_random_paths_print_json(app, world):
    runner = app.test_cli_runner()
    worst = runner.invoke(args=["simulations", "play", SLUGS[0], "--path", "worst"])
    assert worst.exit_code == 0
    assert json.loads(worst.stdout)["score"]["total"] < 50
    a = runner.invoke(args=["simulations", "play", SLUGS[0], "--path", "random", "--seed", "9"])
    b = runner.invoke(args=["simulations", "play", SLUGS[0], "--path", "random", "--seed", "9"])
    assert json.loads(a.stdout)["steps"] == json.loads(b.stdout)["steps"]  # reproducible


def test_best_path_that_fails_the_errand_exits_one(app, world):
    data = sample_case(world.item.slug, slug="bad-best-path")
    steps = {s["id"]: s for s in data["steps"]}
    # the well-scored path now ends in a second trip; only poor choices reach "solved"
    steps["tell_once"]["next"] = "end_second_trip"
    steps["outage_handle"]["options"][1]["next"] = "end_solved"
    steps["missing_handle"]["options"][1]["next"] = "end_solved"
    load_case(data)
    result = app.test_cli_runner().invoke(args=["simulations", "play", "bad-best-path"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["outcome"] == "second_trip"


def test_unknown_case_exits_two(app, world):
    result = app.test_cli_runner().invoke(args=["simulations", "play", "no-such-case"])
    assert result.exit_code == 2 and "不存在" in result.output
