"""Pure rules of learning: checking practice answers, scoring the short check,
progress status and onboarding plans. No database, no request."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from academy.learning.models import ProgressStatus
from academy.validators import id_number_problem, normalise_id_number, phone_problem

PRACTICE_PARTS = ("materials", "channel", "order", "form")
PART_LABELS = {
    "guide": "办事指南",
    "materials": "练习一：选材料",
    "channel": "练习二：选渠道",
    "order": "练习三：排步骤",
    "form": "练习四：填表",
    "check": "小测",
}
PASS_MARK = 0.8


class PracticeInputError(ValueError):
    """A submission that no honest form could produce (unknown ids, missing parts)."""


@dataclass
class Feedback:
    target: str  # option id, step index or field id
    message: str
    ok: bool = False


@dataclass
class PracticeResult:
    correct: bool
    answer: object
    feedback: list[Feedback] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "correct": self.correct,
            "answer": self.answer,
            "feedback": [
                {"target": f.target, "message": f.message, "ok": f.ok} for f in self.feedback
            ],
        }


def practice_response(part: str, result: PracticeResult) -> dict:
    """What the event log keeps of a practice answer: right or not, how many problems, and
    the choices (xAPI "[,]" form) — never the typed form values (they may look personal)."""
    out: dict = {
        "success": result.correct,
        "errors": sum(1 for f in result.feedback if not f.ok),
    }
    if part in ("materials", "channel", "order") and isinstance(result.answer, list):
        out["response"] = "[,]".join(str(a) for a in result.answer)[:200]
    return out


def check_choice(options: Sequence[Mapping], chosen: Iterable[str], single: bool) -> PracticeResult:
    chosen = list(chosen)
    by_id = {o["id"]: o for o in options}
    unknown = [c for c in chosen if c not in by_id]
    if unknown:
        raise PracticeInputError(f"未知的选项：{'、'.join(map(str, unknown))}")
    if len(set(chosen)) != len(chosen):
        raise PracticeInputError("同一选项提交了多次")
    if single and len(chosen) != 1:
        raise PracticeInputError("请选择一项")
    if not chosen:
        raise PracticeInputError("请至少选择一项")
    picked = set(chosen)
    feedback = []
    for o in options:
        if o["id"] in picked and not o["correct"]:
            feedback.append(
                Feedback(o["id"], f"“{o['text']}”不对：{o.get('feedback', '')}".rstrip("："))
            )
        elif o["id"] not in picked and o["correct"]:
            feedback.append(Feedback(o["id"], f"漏选了“{o['text']}”。"))
        elif o["id"] in picked and o["correct"]:
            feedback.append(
                Feedback(o["id"], o.get("feedback") or f"“{o['text']}”选对了。", ok=True)
            )
    correct = picked == {o["id"] for o in options if o["correct"]}
    return PracticeResult(correct, sorted(picked), feedback)


def display_order(count: int, seed: str) -> list[int]:
    """A shuffled order of step indexes, stable for one learner and module, never the answer."""
    order = list(range(count))
    rng = random.Random(seed)
    for _ in range(10):
        rng.shuffle(order)
        if order != sorted(order) or count < 2:
            break
    return order


def check_order(steps: Sequence[str], positions: Mapping[int, int]) -> PracticeResult:
    """``positions`` maps each step index (as in the file, i.e. correct order) to the
    position 1..n the learner gave it."""
    n = len(steps)
    if set(positions) != set(range(n)):
        raise PracticeInputError("每个步骤都要排一个序号")
    if sorted(positions.values()) != list(range(1, n + 1)):
        raise PracticeInputError(f"序号应为 1 到 {n}，且不能重复")
    feedback = []
    for index in range(n):
        given = positions[index]
        if given != index + 1:
            feedback.append(
                Feedback(
                    str(index), f"“{steps[index]}”应是第 {index + 1} 步，您排在第 {given} 步。"
                )
            )
    answer = [positions[i] for i in range(n)]
    return PracticeResult(not feedback, answer, feedback)


def _normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split())


# Where a place name may start: what a resident leaves off ("横联村" for 澄潭街道横联村).
_PLACE_LEVELS = ("省", "自治区", "市", "州", "县", "区", "街道", "镇", "乡")
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", ".": "·", "‧": "·"})
_NUMBER_UNITS = re.compile(r"(?:元|块钱|块|人|口|年|平方米|平米|㎡|m2|米|岁|个|户|间)$")
_DATE_FORMS = (
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def _compact(value: str) -> str:
    """NFKC (full-width to half-width) with every space removed: how a clerk reads text."""
    return "".join(unicodedata.normalize("NFKC", value).split())


def parse_form_date(value: str) -> date | None:
    """A date written any common way: 2026-3-5, 2026/03/05, 2026.3.5, 2026年3月5日, 20260305."""
    text = _compact(value)
    for pattern in _DATE_FORMS:
        if m := pattern.fullmatch(text):
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def parse_form_number(value: str) -> float | None:
    """A number as people write amounts and counts: 1,000 / 1000元 / １０００ / 2人 / 78平方米."""
    text = _compact(value).replace(",", "").replace("，", "")
    text = _NUMBER_UNITS.sub("", text.removeprefix("¥").removeprefix("￥"))
    try:
        return float(text)
    except ValueError:
        return None


def _same_place(given: str, expected: str) -> bool:
    """Same place when one is the other with higher levels left off at a level boundary
    (横联村 = 澄潭街道横联村 = 新昌县澄潭街道横联村)."""
    short, long = sorted((given, expected), key=len)
    if not short or not long.endswith(short) or short == long:
        return short == long
    prefix = long[: -len(short)]
    return prefix.endswith(_PLACE_LEVELS) and not short.startswith(_PLACE_LEVELS)


def _near_miss(label: str, given: str, expected: str) -> str | None:
    """What is missing or extra when an answer is close to the expected one, else None."""
    if given and given in expected:
        start = expected.index(given)
        missing = "……".join(p for p in (expected[:start], expected[start + len(given) :]) if p)
        return f"“{label}”还不完整，少了“{missing}”。"
    if expected and expected in given:
        start = given.index(expected)
        extra = "……".join(p for p in (given[:start], given[start + len(expected) :]) if p)
        return f"“{label}”多写了“{extra}”，照情景填写即可。"
    return None


def check_form(fields: Sequence[Mapping], values: Mapping[str, str]) -> PracticeResult:
    known = {f["id"] for f in fields}
    extra = set(values) - known
    if extra:
        raise PracticeInputError(f"表单中有未知的栏目：{'、'.join(sorted(extra))}")
    feedback: list[Feedback] = []
    answer = {}
    for f in fields:
        raw = _normalise(str(values.get(f["id"], "") or ""))
        answer[f["id"]] = raw
        label, kind = f["label"], f["type"]
        required = f.get("required", True)
        if not raw:
            if required:
                feedback.append(Feedback(f["id"], f"“{label}”不能空着。"))
            continue
        problem = None
        if kind == "id_number":
            problem = id_number_problem(raw)
            raw = normalise_id_number(raw)
        elif kind == "phone":
            problem = phone_problem(raw)
        elif kind == "date":
            day = parse_form_date(raw)
            if day is None:
                problem = "日期格式应为 年-月-日，如 2026-03-01 或 2026年3月1日。"
            elif not 1900 <= day.year <= 2100:
                problem = "日期应在 1900 年到 2100 年之间，请检查年份。"
        elif kind == "number":
            if parse_form_number(raw) is None:
                problem = "这里应填数字。"
        elif kind == "choice" and raw not in f.get("options", []):
            raise PracticeInputError(f"“{label}”的选项无效")
        if problem:
            feedback.append(Feedback(f["id"], f"“{label}”：{problem}"))
            continue
        expected = f.get("expected")
        if expected not in (None, "") and not _same(kind, raw, str(expected)):
            near = _near_miss(label, _compact(raw), _compact(str(expected)))
            if kind == "date":
                near = _date_miss(label, raw, str(expected))
            elif kind != "text":
                near = None
            feedback.append(
                Feedback(f["id"], near or f"“{label}”与情景中的信息不一致，请再核对一遍。")
            )
    return PracticeResult(not feedback, answer, feedback)


def _date_miss(label: str, given: str, expected: str) -> str | None:
    a, b = parse_form_date(given), parse_form_date(expected)
    if a is None or b is None:
        return None
    wrong = [
        name
        for name, x, y in (
            ("年份", a.year, b.year),
            ("月份", a.month, b.month),
            ("日", a.day, b.day),
        )
        if x != y
    ]
    if len(wrong) == 1:
        return f"“{label}”的{wrong[0]}不对，请再看一遍情景。"
    return None


def _same(kind: str, given: str, expected: str) -> bool:
    if kind == "id_number":
        return normalise_id_number(given) == normalise_id_number(expected)
    if kind == "number":
        a, b = parse_form_number(given), parse_form_number(expected)
        return a is not None and b is not None and abs(a - b) < 1e-9
    if kind == "phone":
        return _compact(given).replace("-", "") == _compact(expected).replace("-", "")
    if kind == "date":
        a = parse_form_date(given)
        return a is not None and a == parse_form_date(expected)
    if kind == "choice":
        return _normalise(given) == _normalise(expected)
    a, b = _compact(given).translate(_NAME_DOTS), _compact(expected).translate(_NAME_DOTS)
    return a == b or _same_place(a, b)


@dataclass
class CheckResult:
    score: float
    correct: list[bool]
    passed: bool


def score_check(questions: Sequence[Mapping], answers: Mapping[int, object]) -> CheckResult:
    """answers: question index → set of option indexes (single/multiple) or bool (truefalse)."""
    if set(answers) != set(range(len(questions))):
        raise PracticeInputError("请回答全部题目后再提交")
    correct = []
    for i, q in enumerate(questions):
        given = answers[i]
        if q["type"] == "truefalse":
            if not isinstance(given, bool):
                raise PracticeInputError(f"第 {i + 1} 题的答案无效")
            correct.append(given == q["answer"])
            continue
        if not isinstance(given, (set, frozenset)) or not given:
            raise PracticeInputError(f"第 {i + 1} 题的答案无效")
        if any(not isinstance(g, int) or not 0 <= g < len(q["options"]) for g in given):
            raise PracticeInputError(f"第 {i + 1} 题的选项无效")
        if q["type"] == "single" and len(given) != 1:
            raise PracticeInputError(f"第 {i + 1} 题是单选题")
        right = {j for j, o in enumerate(q["options"]) if o["correct"]}
        correct.append(set(given) == right)
    score = sum(correct) / len(questions) if questions else 0.0
    return CheckResult(score, correct, score >= PASS_MARK)


# --- retaking the short check -----------------------------------------------------------
# A check of five questions with their explanations in mind is passed by memory, not by
# knowing the job. So (courses/README.md, 「小测」):
# - after a failed check the next try opens ``CHECK_RETAKE_MINUTES`` later (config, 30 by
#   default; 0 = at once): time to go back to the guide rather than straight back in;
# - the options of every question are shown in a new order on every try (the submitted
#   values stay the options' positions in the file, so scoring does not change);
# - after a failed try only the explanations of the questions answered right are shown; a
#   question answered wrong says so and points back to the guide. Once the check has been
#   passed every explanation is shown.


def check_retake_at(last_at: datetime | None, last_passed: bool, minutes: int) -> datetime | None:
    """When the next try of a module check opens: None = now (nothing tried yet, the last
    try passed, or no wait configured)."""
    if last_at is None or last_passed or minutes <= 0:
        return None
    return last_at + timedelta(minutes=minutes)


def check_option_order(count: int, seed: str) -> list[int]:
    """The order a question's options are shown in on one try (a permutation of
    0..count-1, stable for the seed: learner, module, question and try number)."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return order


def check_last_try(practice: Mapping[str, Mapping]) -> tuple[datetime | None, bool]:
    """(when, passed) of the last try, from what ``submit_check`` keeps in the progress."""
    last = practice.get("check") or {}
    at = last.get("at")
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    passed = last.get("passed")
    if passed is None:  # kept before tries recorded it
        passed = last.get("score", 0) >= PASS_MARK
    return when, bool(passed)


def progress_status(
    opened: bool, practice: Mapping[str, Mapping], check_passed: bool
) -> ProgressStatus:
    """Status from what the learner has done: passing needs every practice part right
    and the short check passed."""
    practised = all(practice.get(p, {}).get("correct") for p in PRACTICE_PARTS)
    if practised and check_passed:
        return ProgressStatus.PASSED
    if practised:
        return ProgressStatus.PRACTISED
    if opened or practice or check_passed:
        return ProgressStatus.IN_PROGRESS
    return ProgressStatus.NOT_STARTED


def resume_section(practice: Mapping[str, Mapping], status: ProgressStatus) -> str:
    """Where to reopen a module: the first practice part not yet right, else the check."""
    if status == ProgressStatus.PASSED:
        return "guide"
    if not practice:
        return "guide"
    for part in PRACTICE_PARTS:
        if not practice.get(part, {}).get("correct"):
            return part
    return "check"


@dataclass(frozen=True)
class PlanItemSpec:
    item_id: int
    frequency: int
    category: str
    name: str


def plan_order(items: Iterable[PlanItemSpec]) -> list[int]:
    """Most-needed items first (frequency), then by category and name for stability."""
    ranked = sorted(items, key=lambda i: (-i.frequency, i.category, i.name, i.item_id))
    return [i.item_id for i in ranked]


def plan_due(joined_on: date, days: int) -> date:
    return joined_on + timedelta(days=days)


def curriculum_digest(item_ids: Sequence[int]) -> str:
    """The identity of an ordered item list: plans with the same list share a curriculum."""
    return hashlib.sha256(",".join(map(str, item_ids)).encode()).hexdigest()


@dataclass
class PlanProgress:
    passed: int
    total: int
    overdue: bool
    next_item_id: int | None

    @property
    def percent(self) -> int:
        return round(100 * self.passed / self.total) if self.total else 100


def plan_progress(
    entry_item_ids: Sequence[int], passed_item_ids: set[int], due_on: date, today: date
) -> PlanProgress:
    passed = sum(1 for i in entry_item_ids if i in passed_item_ids)
    upcoming = next((i for i in entry_item_ids if i not in passed_item_ids), None)
    done = upcoming is None
    return PlanProgress(passed, len(entry_item_ids), (not done) and today > due_on, upcoming)


def document_changes(old: Mapping, new: Mapping, prefix: str = "", depth: int = 2) -> list[str]:
    """Field paths (to ``depth`` levels) whose values differ between two module documents."""
    changed = []
    for key in list(dict.fromkeys([*old.keys(), *new.keys()])):
        path = f"{prefix}{key}"
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if depth > 1 and isinstance(a, Mapping) and isinstance(b, Mapping):
            changed.extend(document_changes(a, b, f"{path}.", depth - 1))
        else:
            changed.append(path)
    return changed
