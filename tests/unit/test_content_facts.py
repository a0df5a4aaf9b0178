"""The shipped modules and catalogue carry the facts corrected in issue 11, the spoken scripts do
not hedge in the villager's ear, and the items the source documents name are there with a module
and a bank.

Module checks (`check:`) and question banks are rewritten separately; the fact tests here read
everything a learner reads in a module except the check, plus the catalogue.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from academy.content.loader import load_content

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSES = REPO_ROOT / "courses"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


MODULES = {p.stem: _load(p) for p in sorted(COURSES.glob("*.yaml")) if p.name != "catalogue.yaml"}
CATALOGUE = {i["slug"]: i for i in _load(COURSES / "catalogue.yaml")["items"]}


def _text(value) -> str:
    """All strings of a YAML value, joined; a practice's wrong options (plausible mistakes on
    purpose) are left out, their feedback kept."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("correct") is False:
        return str(value.get("feedback", ""))
    if isinstance(value, dict):
        return "\n".join(_text(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return ""


def taught(slug: str) -> str:
    """What a learner reads in a module, without its check."""
    return _text({k: v for k, v in MODULES[slug].items() if k != "check"})


def everything_taught() -> dict[str, str]:
    texts = {slug: taught(slug) for slug in MODULES}
    texts["catalogue"] = _text(list(CATALOGUE.values()))
    return texts


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[。；\n]", text) if s.strip()]


# ------------------------------------------------------------------ spoken scripts

HEDGES = [
    "以当地",
    "为准",
    "帮你问清楚",
    "帮您问清楚",
    "问清楚了再",
    "我问清楚",
    "一站式服务",
    "一单制",
]


@pytest.mark.parametrize("slug", sorted(MODULES))
def test_spoken_script_says_what_to_do_without_hedging(slug):
    script = MODULES[slug]["tell_once"]
    found = [h for h in HEDGES if h in script]
    assert found == [], f"{slug}: {found}"


def test_no_string_of_slogans_anywhere_in_modules():
    for slug, text in everything_taught().items():
        assert "一站式服务、一窗口办理、一单制结算" not in text, slug


# ------------------------------------------------------------------ death certificate


def test_death_certificate_is_the_unified_one_and_not_issued_by_a_village_clinic():
    for slug, text in everything_taught().items():
        assert "居民死亡医学证明（推断）书》" not in text.replace(
            "原《居民死亡医学证明（推断）书》", ""
        ), slug
        for sentence in sentences(text):
            if "村卫生室" in sentence and "死亡" in sentence:
                assert "不出具" in sentence, f"{slug}: {sentence}"
    assert "2026年7月1日" in taught("death-household-cancellation")
    assert "乡镇卫生院" in taught("after-death-joint")


def test_after_death_joint_covers_the_national_list_and_runs_online():
    text = taught("after-death-joint")
    for part in ("火化", "公积金", "驾驶证", "遗属", "浙里办"):
        assert part in text, part
    assert "云帮办" in CATALOGUE["after-death-joint"]["channels"]
    assert "云帮办" in MODULES["after-death-joint"]["guide"]["channels"]


def test_a_household_register_showing_the_cancellation_is_the_proof():
    text = taught("household-registration-certificate")
    assert "公通字〔2016〕21号" in text and "曾用名" in text
    script = MODULES["household-registration-certificate"]["tell_once"]
    assert "不用去派出所开证明" in script
    # Nobody is sent to the police station for a 注销户口证明 to prove a death.
    death = taught("resident-pension-death-benefit")
    assert "派出所的户口注销证明" not in MODULES["resident-pension-death-benefit"]["tell_once"]
    assert "公通字〔2016〕21号" in death


# ------------------------------------------------------------------ other corrected facts


def test_all_fertiliser_and_pesticide_are_bought_under_real_name():
    text = taught("farm-supplies-delivery")
    assert "肥药两制" in text
    assert "化肥和农药都" in text or "化肥、农药都" in text
    assert "肥药两制" in CATALOGUE["farm-supplies-delivery"]["summary"]


def test_disability_grading_objection_goes_to_the_prefecture_federation():
    text = taught("disability-certificate") + CATALOGUE["disability-certificate"]["summary"]
    assert "地市级残联" in text and "10个工作日" in text and "省级残联" in text
    for sentence in sentences(text):
        if "异议" in sentence:
            assert "向县残联" not in sentence, sentence


def test_residence_permit_is_an_electronic_card_and_free():
    item = CATALOGUE["residence-permit"]
    assert item["fee"].startswith("免费") and "电子" in item["fee"]
    guide = MODULES["residence-permit"]["guide"]
    assert "工本费" not in guide["fee"].replace("不收工本费", "")
    assert "浙里办" in guide["where"]
    assert "领卡" not in MODULES["residence-permit"]["tell_once"].replace("不用去派出所领卡", "")


def test_birth_one_thing_since_2019_and_modules_agree():
    assert "2019" in taught("birth-registration")
    assert "2019" in taught("fertility-registration")
    assert "一件一件帮着办" not in MODULES["fertility-registration"]["tell_once"]


# ------------------------------------------------------------------ new items

NEW_ITEMS = {
    "land-requisitioned-farmer-insurance": "登记申领",
    "enterprise-retirement-application": "登记申领",
    "collection-day-policy-consultation": "特色服务",
    "bank-insurance-services": "特色服务",
    "employment-matching": "特色服务",
}


@pytest.fixture(scope="module")
def bundle():
    return load_content(REPO_ROOT)


@pytest.mark.parametrize("slug", sorted(NEW_ITEMS))
def test_items_the_source_documents_name_have_module_and_bank(bundle, slug):
    from academy.questions.bankfile import parse_bank

    assert bundle.problems == []
    assert CATALOGUE[slug]["category"] == NEW_ITEMS[slug]
    assert "村" in CATALOGUE[slug]["scopes"]
    assert MODULES[slug]["item"] == slug
    banks = [d for d in bundle.documents["question_banks"] if d.data.get("item") == slug]
    assert len(banks) == 1
    questions, problems = parse_bank(banks[0].data, banks[0].path, bundle.item_slugs)
    assert problems == []
    assert len(questions) >= 12
    assert set(Counter(q.dimension for q in questions)) == {"knowledge", "etiquette", "emergency"}


def test_source_document_cases_are_in_the_new_modules():
    assert "三个部门" in taught("land-requisitioned-farmer-insurance")
    assert "澄潭" in taught("land-requisitioned-farmer-insurance")
    retirement = taught("enterprise-retirement-application")
    assert "石马镇" in retirement and "独生子女证明" in retirement and "数据共享" in retirement
    assert "充值缴费、政策咨询" in taught("collection-day-policy-consultation")
