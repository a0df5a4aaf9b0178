"""The registry of question types (as CTFd registers challenge types).

Each type knows how to check a candidate's response (reject malformed input) and grade it
with the pure rules. ``check_registry`` runs at start-up and by ``content check``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from academy.questions import rules
from academy.questions.spec import TYPES


class ResponseError(ValueError):
    """A response no honest page could send (wrong shape, unknown option)."""


QUESTION_TYPES: dict[str, type[QuestionType]] = {}


def question_type(name: str):
    def register(cls):
        cls.name = name
        QUESTION_TYPES[name] = cls
        return cls

    return register


class QuestionType:
    name: ClassVar[str]
    label: ClassVar[str]
    auto_marked: ClassVar[bool] = True

    @classmethod
    def check(cls, data: dict, response: Any) -> Any:
        """Validate and normalise a response; raise ResponseError."""
        raise NotImplementedError

    @classmethod
    def from_form(cls, data: dict, form, name: str) -> Any:
        """The response as posted by templates/questions/_answer.html (a form or the autosave
        script, which posts the same fields): ``form`` is a MultiDict, ``name`` the field
        prefix of this question. Returns the raw response (None = not answered); ``check``
        validates it. Raises ResponseError for input no honest page sends."""
        value = form.get(name, "")
        return value if value.strip() else None

    @classmethod
    def grade(cls, data: dict, response: Any) -> float | None:
        raise NotImplementedError


def _int_list(response: Any, limit: int) -> list[int]:
    if not isinstance(response, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in response
    ):
        raise ResponseError("答案格式不正确")
    if any(not 0 <= i < limit for i in response) or len(set(response)) != len(response):
        raise ResponseError("选项不存在")
    return response


@question_type("multichoice")
class MultiChoice(QuestionType):
    label = "选择题"

    @classmethod
    def check(cls, data, response):
        chosen = _int_list(response, len(data["answers"]))
        if data.get("single", True) and len(chosen) > 1:
            raise ResponseError("单选题只能选一个")
        return chosen

    @classmethod
    def from_form(cls, data, form, name):
        values = form.getlist(name)
        if not values:
            return None
        if not all(v.isdigit() for v in values):
            raise ResponseError("答案格式不正确")
        return [int(v) for v in values]

    @classmethod
    def grade(cls, data, response):
        return rules.grade_multichoice(
            [a["fraction"] for a in data["answers"]], set(response), data.get("single", True)
        )


@question_type("truefalse")
class TrueFalse(QuestionType):
    label = "判断题"

    @classmethod
    def check(cls, data, response):
        if not isinstance(response, bool):
            raise ResponseError("判断题只能答对或错")
        return response

    @classmethod
    def from_form(cls, data, form, name):
        value = form.get(name, "")
        if value == "":
            return None
        if value not in ("true", "false"):
            raise ResponseError("判断题只能答对或错")
        return value == "true"

    @classmethod
    def grade(cls, data, response):
        truth = next(a["text"] == "true" for a in data["answers"] if a["fraction"] == 1.0)
        return rules.grade_truefalse(truth, response)


@question_type("shortanswer")
class ShortAnswer(QuestionType):
    label = "填空题"

    @classmethod
    def check(cls, data, response):
        if not isinstance(response, str) or len(response) > 500:
            raise ResponseError("填空答案应为不超过 500 字的文字")
        return response

    @classmethod
    def grade(cls, data, response):
        return rules.grade_shortanswer(
            [(a["text"], a["fraction"]) for a in data["answers"]], response
        )


@question_type("numerical")
class Numerical(ShortAnswer):
    label = "数值题"

    @classmethod
    def grade(cls, data, response):
        answers = [
            (float(a["text"]), a.get("tolerance") or 0.0, a["fraction"]) for a in data["answers"]
        ]
        return rules.grade_numerical(answers, response)


def matching_options(data: dict) -> list[str]:
    """The right-hand choices offered for every left-hand item: unique, sorted (stable)."""
    return sorted({right for _, right in data["pairs"]})


@question_type("matching")
class Matching(QuestionType):
    label = "配对题"

    @classmethod
    def check(cls, data, response):
        options = matching_options(data)
        if (
            not isinstance(response, list)
            or len(response) != len(data["pairs"])
            or any(r is not None and r not in options for r in response)
        ):
            raise ResponseError("配对答案不正确")
        return response

    @classmethod
    def from_form(cls, data, form, name):
        chosen = [form.get(f"{name}-{k}", "") or None for k in range(len(data["pairs"]))]
        return chosen if any(chosen) else None

    @classmethod
    def grade(cls, data, response):
        return rules.grade_matching([right for _, right in data["pairs"]], response)


@question_type("ordering")
class Ordering(QuestionType):
    label = "排序题"

    @classmethod
    def check(cls, data, response):
        n = len(data["order"])
        if isinstance(response, dict):  # step numbers given to some items only (autosave)
            positions = response.get("partial")
            if (
                set(response) != {"partial"}
                or not isinstance(positions, list)
                or len(positions) != n
                or any(
                    p is not None
                    and (not isinstance(p, int) or isinstance(p, bool) or not 0 < p <= n)
                    for p in positions
                )
            ):
                raise ResponseError("排序答案格式不正确")
            return response
        order = _int_list(response, n)
        if len(order) != n:
            raise ResponseError("每一项都要排序")
        return order

    @classmethod
    def from_form(cls, data, form, name):
        """Each item (by its index in the right order) gets a step number 1..n; the response
        is the item indexes in the learner's order. Incomplete or repeated numbers cannot be
        an order yet: they are kept as not answered."""
        n = len(data["order"])
        raw = [form.get(f"{name}-{k}", "") for k in range(n)]
        if not any(raw):
            return None
        if not all(r == "" or r.isdigit() for r in raw):
            raise ResponseError("排序答案格式不正确")
        positions = [int(r) if r else None for r in raw]
        if None in positions or sorted(positions) != list(range(1, n + 1)):
            return {"partial": positions}
        return sorted(range(n), key=lambda k: positions[k])

    @classmethod
    def grade(cls, data, response):
        n = len(data["order"])
        if isinstance(response, dict):
            # One mark per item given its right step number, as for a complete order.
            positions = response["partial"]
            return sum(1 for k, p in enumerate(positions) if p == k + 1) / n if n else 0.0
        return rules.grade_ordering(n, response)


@question_type("essay")
class Essay(QuestionType):
    label = "简答题（人工评分）"
    auto_marked = False

    @classmethod
    def check(cls, data, response):
        if not isinstance(response, str) or len(response) > 5000:
            raise ResponseError("简答不超过 5000 字")
        return response

    @classmethod
    def grade(cls, data, response):
        return None  # an expert marks it


@question_type("description")
class Description(QuestionType):
    label = "说明（不计分）"

    @classmethod
    def check(cls, data, response):
        return None

    @classmethod
    def from_form(cls, data, form, name):
        return None

    @classmethod
    def grade(cls, data, response):
        return None


def check_registry(used: set[str] | None = None) -> list[str]:
    """Types that something needs but nobody registered (empty list = all good)."""
    wanted = set(TYPES) | (used or set())
    return sorted(wanted - set(QUESTION_TYPES))


def get_type(name: str) -> type[QuestionType]:
    try:
        return QUESTION_TYPES[name]
    except KeyError:
        raise ResponseError(f"未注册的题型：{name}") from None
