"""The demo's simulated candidate posts answers the question types grade as meant."""

from __future__ import annotations

import random

import pytest
from werkzeug.datastructures import MultiDict

from academy.demo.exams import answer_fields
from academy.questions.services import version_data
from academy.questions.types import QUESTION_TYPES, get_type
from tests.factories import question_spec

# Every type marked at once (the registry's, not a list kept here).
TYPES = [name for name, kind in QUESTION_TYPES.items() if kind.auto_marked and kind.scored]


def _grade(qtype: str, right: bool) -> float:
    data = version_data(question_spec(qtype))
    fields = answer_fields(qtype, data, "a1", right, random.Random(3))
    form = MultiDict([(k, v) for k, vs in fields.items() for v in vs])
    kind = get_type(qtype)
    return kind.grade(data, kind.check(data, kind.from_form(data, form, "a1")))


@pytest.mark.parametrize("qtype", TYPES)
def test_right_answers_get_full_marks_and_wrong_ones_do_not(qtype):
    assert _grade(qtype, True) == 1.0
    assert _grade(qtype, False) < 1.0


def test_essays_are_posted_for_marking():
    data = version_data(question_spec("essay"))
    fields = answer_fields("essay", data, "a2", True, random.Random(1))
    assert len(fields["a2"][0]) > 20
