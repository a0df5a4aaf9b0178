"""The content shipped in the repository is valid and covers what the county needs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from academy.catalogue.models import ItemCategory
from academy.content.loader import load_content
from academy.demo.seed import DATA_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle():
    return load_content(REPO_ROOT)


@pytest.fixture(scope="module")
def village_items(bundle):
    return [i for i in bundle.items if "village" in i.scopes]


def test_shipped_content_has_no_problems(bundle):
    assert [str(p) for p in bundle.problems] == []
    assert bundle.items, "courses/catalogue.yaml was not read"


def test_catalogue_covers_the_47_village_items(village_items):
    assert len(village_items) >= 47


def test_every_category_has_at_least_six_village_items(village_items):
    per_category = Counter(i.category for i in village_items)
    assert set(per_category) == set(ItemCategory)
    assert min(per_category.values()) >= 6, per_category


def test_slugs_and_names_are_unique(bundle):
    slugs = [i.slug for i in bundle.items]
    names = [i.name for i in bundle.items]
    assert len(slugs) == len(set(slugs))
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "fragment",
    [
        "居民养老保险死亡待遇",
        "城乡居民医保",
        "身份证",
        "残疾人证",
        "高龄津贴",
        "水电网联办",
        "公交卡",
        "社会保障卡",
    ],
)
def test_seed_items_are_in_the_catalogue_for_villages(village_items, fragment):
    assert any(fragment in i.name for i in village_items), fragment


def test_every_item_has_a_channel_and_a_scope(bundle):
    for item in bundle.items:
        assert item.channels and item.scopes, item.slug


# --------------------------------------------------------------------- demo region


@pytest.fixture(scope="module")
def region():
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def test_demo_county_is_xinchang_with_12_townships(region):
    assert region["county"]["name"] == "新昌县"
    names = [t["name"] for t in region["townships"]]
    assert len(names) == 12
    assert len(set(names)) == 12
    assert {t["kind"] for t in region["townships"]} <= {"街道", "镇", "乡"}


def test_demo_region_has_a_realistic_number_of_villages(region):
    total = sum(len(t["villages"]) for t in region["townships"])
    assert 230 <= total <= 270
    assert all(t["villages"] for t in region["townships"])


def test_village_names_are_unique_within_each_township(region):
    for township in region["townships"]:
        names = [v["name"] for v in township["villages"]]
        duplicates = [n for n, c in Counter(names).items() if c > 1]
        assert duplicates == [], township["name"]


def test_every_village_has_a_known_tier_and_kind(region):
    villages = [v for t in region["townships"] for v in t["villages"]]
    assert {v["tier"] for v in villages} == {"示范型", "标准型", "简朴型"}
    assert {v["kind"] for v in villages} <= {"村", "社区"}


def test_every_village_item_has_a_valid_module():
    from academy.content.loader import load_content

    bundle = load_content(REPO_ROOT)
    assert bundle.problems == []
    modules = {doc.data["item"] for doc in bundle.documents["courses"]}
    village_items = {i.slug for i in bundle.items if "village" in i.scopes}
    assert len(village_items) >= 47
    assert village_items <= modules, sorted(village_items - modules)


def test_every_catalogue_item_has_a_bank_of_at_least_ten_questions_in_all_dimensions():
    from collections import Counter

    from academy.content.loader import load_content
    from academy.questions.bankfile import parse_bank

    bundle = load_content(REPO_ROOT)
    assert bundle.problems == []
    per_item: dict[str, list] = {}
    for doc in bundle.documents["question_banks"]:
        questions, problems = parse_bank(doc.data, doc.path, bundle.item_slugs)
        assert problems == []
        for q in questions:
            per_item.setdefault(q.item, []).append(q)
    for item in bundle.item_slugs:
        questions = per_item.get(item, [])
        assert len(questions) >= 10, item
        assert set(Counter(q.dimension for q in questions)) == {
            "knowledge",
            "etiquette",
            "emergency",
        }, item
    assert sum(len(v) for v in per_item.values()) >= 470
