"""Hypothesis strategies for interchange round trips: valid questions of every type with
random Chinese/ASCII text, GIFT's special characters ~ = # { } : and backslashes included."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from academy.questions.interchange import number_text
from academy.questions.spec import DIMENSIONS, FORMATS, Answer, Question
from academy.questions.types import names

BUILT_IN = names()  # the types registered at import (not a test's throw-away type)

ROUND_TRIP = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# No ">" ("->" means matching), "<" (names lose tags), "/" (// starts a comment) or control
# characters; everything else GIFT must escape is in.
ALPHABET = "村民身份证补领代办材料户口簿证明缴费（）。，？aZz09 _-.,?%[]~=#{}:\\\n\u3000"
SLUGS = ["id-card-renewal-home-service", "electricity-bill", "birth-registration"]
RIGHT_SHARES = {1: [1.0], 2: [0.5, 0.5], 3: [0.3333333] * 3, 4: [0.25] * 4}


def text(min_size: int = 1, max_size: int = 24, alphabet: str = ALPHABET):
    return (
        st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(bool)  # kept by PHP trim and str.strip alike
    )


def maybe_text():
    return st.one_of(st.just(""), text())


def number():
    return st.one_of(
        st.integers(-5000, 5000).map(float),
        st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False).map(float),
    ).map(number_text)


@st.composite
def question(draw, kinds=None, description_feedback: bool = False) -> Question:
    kinds = kinds or list(BUILT_IN)
    kind = draw(st.sampled_from(kinds))
    q = Question(
        type=kind,
        name=draw(text(max_size=30)),
        text=draw(text(max_size=60)),
        text_format=draw(st.sampled_from(FORMATS)),
        item=draw(st.one_of(st.none(), st.sampled_from(SLUGS))),
        dimension=draw(st.one_of(st.none(), st.sampled_from(list(DIMENSIONS)))),
        difficulty=draw(st.one_of(st.none(), st.integers(1, 3))),
    )
    if kind not in ("description", "ordering") or description_feedback:
        q.general_feedback = draw(maybe_text())
    if kind == "multichoice":
        q.single = draw(st.booleans())
        if q.single:
            wrong = st.sampled_from([0.0, 0.0, 0.5, 0.3333333, -0.5, 1.0])
            fractions = [1.0, *draw(st.lists(wrong, min_size=1, max_size=5))]
        else:
            rights = RIGHT_SHARES[draw(st.integers(1, 4))]
            wrong = st.sampled_from([0.0, -0.5, -1.0])
            fractions = [*rights, *draw(st.lists(wrong, min_size=1, max_size=2))]
        fractions = draw(st.permutations(fractions))
        q.answers = [Answer(draw(text()), f, draw(maybe_text())) for f in fractions]
    elif kind == "truefalse":
        truth = draw(st.booleans())
        q.answers = [
            Answer("true", 1.0 if truth else 0.0, draw(maybe_text())),
            Answer("false", 0.0 if truth else 1.0, draw(maybe_text())),
        ]
    elif kind == "shortanswer":
        more = st.lists(st.sampled_from([1.0, 0.5, 0.0, 0.9]), max_size=3)
        fractions = [1.0, *draw(more)]
        q.answers = [Answer(draw(text()), f, draw(maybe_text())) for f in fractions]
    elif kind == "numerical":
        fractions = [1.0, *draw(st.lists(st.sampled_from([0.5, 0.0, 1.0]), max_size=2))]
        q.answers = [
            Answer(draw(number()), f, draw(maybe_text()), draw(st.sampled_from([0.0, 0.5, 2.0])))
            for f in fractions
        ]
        q.other_feedback = draw(maybe_text())
    elif kind == "matching":
        lefts = draw(st.lists(text(), min_size=3, max_size=5, unique=True))
        q.pairs = [(left, draw(text())) for left in lefts]
        # Distractors: extra wrong answers (an empty left side), anywhere in the list.
        for _ in range(draw(st.integers(0, 2))):
            q.pairs.insert(draw(st.integers(0, len(q.pairs))), ("", draw(text())))
    elif kind == "ordering":
        plain = ALPHABET.replace("{", "").replace("}", "").replace("\n", "")
        q.order = draw(st.lists(text(alphabet=plain), min_size=3, max_size=5, unique=True))
    elif kind == "essay":
        q.grader_info = draw(maybe_text())
    return q


SCALARS = ("type", "name", "text", "text_format", "single", "general_feedback", "grader_info")
SCALARS += ("category", "item", "dimension", "difficulty")


def lossless(q: Question) -> bool:
    """Whether ``flask questions parse`` output (``as_json``) carries every field."""
    data = q.as_json()
    answers = data["answers"][: len(data["answers"]) - (1 if q.other_feedback else 0)]
    order, rest = answers[: len(q.order)], answers[len(q.order) :]
    return (
        [(a["text"], a["fraction"], a["feedback"], a.get("tolerance")) for a in rest]
        == [(a.text, a.fraction, a.feedback, a.tolerance) for a in q.answers]
        and [a["text"] for a in order] == q.order
        and [tuple(p) for p in data["pairs"]] == q.pairs
        and all(data[key] == getattr(q, key) for key in SCALARS)
        and (not q.other_feedback or data["answers"][-1]["feedback"] == q.other_feedback)
    )


def comparable(q: Question) -> dict:
    """The fields an interchange format carries (everything but the source line)."""
    return q.as_dict()
