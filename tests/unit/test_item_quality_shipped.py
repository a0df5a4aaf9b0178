"""The shipped banks and module checks pass the item-quality lint (question_banks/README.md,
「题目质量检查」): picking the longest option, or answering "true", scores near chance."""

from __future__ import annotations

from pathlib import Path

import pytest

from academy.content.loader import load_content
from academy.questions.quality import lint_content

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    bundle = load_content(REPO_ROOT)
    assert bundle.problems == []
    return lint_content(bundle.documents)


def test_no_shipped_bank_or_module_check_is_beyond_the_thresholds(report):
    assert [str(p) for p in report.problems if "(题目质量" in p.field] == []


def test_no_two_shipped_stems_are_the_same_or_almost(report):
    assert [str(p) for p in report.problems if p.field.endswith(".text")] == []


def test_the_longest_option_finds_the_key_not_much_more_often_than_chance(report):
    total = report.overall
    assert total.single >= 500
    assert total.share("longest") <= 0.35
    assert 0.40 <= total.share("tf_true") <= 0.60
