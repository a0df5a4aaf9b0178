"""The course module validator reports every broken part with its field path."""

import pytest

from academy.content.modules import check_module
from tests.content_samples import valid_module

SLUG = "pension-death-benefit"
PATH = f"courses/{SLUG}.yaml"


def problems(data, items=frozenset({SLUG})):
    return {(p.field, p.reason) for p in check_module(PATH, data, set(items))}


def fields(data, items=frozenset({SLUG})):
    return {f for f, _ in problems(data, items)}


def test_the_sample_module_is_valid():
    assert problems(valid_module(SLUG)) == set()


def test_missing_and_unknown_top_level_fields():
    data = valid_module(SLUG)
    del data["tell_once"]
    data["extra"] = 1
    assert problems(data) == {("tell_once", "缺少必填字段"), ("extra", "未知字段")}


def test_item_must_exist_and_match_slug_and_file_name():
    data = valid_module(SLUG)
    assert "item" in fields(data, items=set())
    other = valid_module("other-item")
    assert fields(other, items={"other-item"}) == {"slug"}  # file is pension-death-benefit.yaml


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["guide"]["materials"][0].update(form="扫描件"), "guide.materials[0].form"),
        (lambda d: d["guide"]["materials"][0].update(copies=0), "guide.materials[0].copies"),
        (lambda d: d["guide"].update(channels=["快递办"]), "guide.channels"),
        (lambda d: d["guide"].update(who=""), "guide.who"),
        (lambda d: d["mistakes"].pop(), "mistakes"),
        (lambda d: d["emergencies"][0].pop("action"), "emergencies[0].action"),
        (
            lambda d: d["practice"]["materials"]["options"][2].pop("feedback"),
            "practice.materials.options[2].feedback",
        ),
        (
            lambda d: (
                d["practice"]["materials"]["options"][2].update(correct=True)
                or d["practice"]["materials"]["options"][3].update(correct=True)
                or d["practice"]["materials"]["options"][4].update(correct=True)
                or d["practice"]["materials"]["options"][5].update(correct=True)
            ),
            "practice.materials.options",
        ),
        (
            lambda d: d["practice"]["channel"]["options"][1].update(correct=True),
            "practice.channel.options",
        ),
        (
            lambda d: d["practice"]["channel"]["options"][1].update(id="m1"),
            "practice.channel.options[1].id",
        ),
        (lambda d: d["practice"]["order"]["steps"].append("受理"), "practice.order.steps"),
        (
            lambda d: d["practice"]["form"]["fields"][1].update(expected="330624195003150017"),
            "practice.form.fields[1].expected",
        ),
        (
            lambda d: d["practice"]["form"]["fields"][2].update(expected="2026-02-30"),
            "practice.form.fields[2].expected",
        ),
        (
            lambda d: d["practice"]["form"]["fields"][3].update(expected="12345"),
            "practice.form.fields[3].expected",
        ),
        (
            lambda d: d["practice"]["form"]["fields"][4].update(expected="父母"),
            "practice.form.fields[4].expected",
        ),
        (
            lambda d: d["practice"]["form"]["fields"][0].update(type="signature"),
            "practice.form.fields[0].type",
        ),
        (lambda d: d["check"].pop(), "check"),
        (lambda d: d["check"][1].update(answer="否"), "check[1].answer"),
        (lambda d: d["check"][0]["options"][1].update(correct=True), "check[0].options"),
        (lambda d: d["check"][2]["options"][1].update(correct=False), "check[2].options"),
        (lambda d: d["check"][4].update(dimension="业务知识"), "check"),
        (lambda d: d["check"][0].update(difficulty=4), "check[0].difficulty"),
    ],
)
def test_each_broken_part_is_named(mutate, field):
    data = valid_module(SLUG)
    mutate(data)
    assert field in fields(data)


def test_all_problems_are_reported_at_once():
    data = valid_module(SLUG)
    data["guide"]["channels"] = []
    data["practice"]["form"]["fields"][3]["expected"] = "110"
    data["check"][0]["difficulty"] = 0
    assert {"guide.channels", "practice.form.fields[3].expected", "check[0].difficulty"} <= fields(
        data
    )
