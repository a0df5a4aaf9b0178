"""The registry of simulation step kinds (as CTFd registers challenge types).

One class per kind, in one place. A kind knows how to:

- ``check``: validate its part of a case file (pure; adds problems to a Checker);
- ``targets``: the step ids it can lead to (for the graph checks and the drawing);
- ``parse``: read the player's posted form into a response (raise StepInputError for input
  no honest page sends: an option not offered, a malformed form);
- ``take``: score a response and say where the case goes next (pure);
- ``alternatives``: the ways a player can leave the step (best first), with their points,
  for the best/worst path and the CLI.

``check_registry`` runs at start-up (create_app) and by ``content check``.
To add a kind: write a class here with ``@step_kind("name")``, document it in
simulations/README.md, and add a template block in templates/simulations/_step.html.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

DIMENSIONS = ("业务知识", "服务规范", "应急处置")
CHANNELS = ("现场办", "上门办", "预约办", "云帮办")
OUTCOMES = {"solved": "一次办结", "second_trip": "需要再跑一趟", "failed": "没办成"}
EVENTS = {
    "outage": "系统故障、网络中断",
    "password": "忘记浙里办密码",
    "missing_proof": "缺少证明材料",
    "bedridden": "村民卧床不起",
    "no_proxy_letter": "没有委托书",
    "hearing": "方言或听力困难",
    "angry": "村民情绪激动",
    "queue": "赶场日排长队",
}
MODULE_SECTIONS = {
    "guide": "办事指南",
    "materials": "练习一：选材料",
    "channel": "练习二：选渠道",
    "order": "练习三：排步骤",
    "form": "练习四：填表",
    "mistakes": "常见错误",
    "emergencies": "应急处置",
    "tell": "一次性告知",
}
SCORE_BOUND = 10  # |points| of one option in one dimension
POINTS_BOUND = 20  # points of one scored step
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_TYPES = {"text", "id_number", "date", "phone", "choice", "number"}


class StepInputError(ValueError):
    """A posted answer that no honest page could send at this step."""


@dataclass
class Taken:
    """The result of one step: points per dimension, where next, what to tell the player."""

    points: dict[str, float] = field(default_factory=dict)
    next: str | None = None
    correct: bool | None = None  # None: not a right/wrong step
    feedback: list[str] = field(default_factory=list)
    pending: bool = False  # a free-text reply waiting for an expert's mark
    label: str = ""  # what the player did, in words (for the debrief)

    def as_dict(self) -> dict:
        return {
            "points": self.points,
            "next": self.next,
            "correct": self.correct,
            "feedback": self.feedback,
            "pending": self.pending,
            "label": self.label,
        }


@dataclass
class Context:
    """What a step may depend on in one run: the draws made from the run's seed."""

    seed: int = 0

    def draw(self, step_id: str, count: int) -> int:
        return random.Random(f"{self.seed}:{step_id}").randrange(count) if count else 0


class Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list = []

    def add(self, where: str, reason: str) -> None:
        from academy.content.problems import Problem

        self.problems.append(Problem(self.path, where, reason))

    def text(self, data: Any, key: str, where: str, required: bool = True) -> bool:
        value = data.get(key) if isinstance(data, dict) else None
        if value is None and not required:
            return True
        if not isinstance(value, str) or not value.strip():
            self.add(f"{where}.{key}", "应为非空文本")
            return False
        return True

    def listing(self, value: Any, where: str, lo: int, hi: int) -> bool:
        if not isinstance(value, list):
            self.add(where, f"应为列表（{lo}–{hi} 项）")
            return False
        if not lo <= len(value) <= hi:
            self.add(where, f"应有 {lo}–{hi} 项，现有 {len(value)} 项")
            return False
        return True

    def target(self, step: dict, key: str, where: str, required: bool = True) -> None:
        value = step.get(key)
        if value is None and not required:
            return
        if not isinstance(value, str) or not value:
            self.add(f"{where}.{key}", "应写下一步的标识")

    def points(self, value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(where, f"分值应为 1–{POINTS_BOUND} 的数")
        elif not 0 < value <= POINTS_BOUND:
            self.add(where, f"分值 {value} 超出范围（1–{POINTS_BOUND}）")

    def dimension(self, value: Any, where: str) -> None:
        if value not in DIMENSIONS:
            self.add(where, f"应为：{'、'.join(DIMENSIONS)}")

    def score(self, value: Any, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.add(where, "应为 维度: 分值 的映射，如 {业务知识: 2}")
            return
        for dim, pts in value.items():
            if dim not in DIMENSIONS:
                self.add(f"{where}.{dim}", f"未知维度，应为：{'、'.join(DIMENSIONS)}")
            elif isinstance(pts, bool) or not isinstance(pts, int | float):
                self.add(f"{where}.{dim}", "分值应为数字")
            elif not -SCORE_BOUND <= pts <= SCORE_BOUND:
                self.add(f"{where}.{dim}", f"分值 {pts} 超出范围（-{SCORE_BOUND}–{SCORE_BOUND}）")

    def option_ids(self, options: list, where: str) -> None:
        seen: set[str] = set()
        for i, opt in enumerate(options):
            oid = opt.get("id") if isinstance(opt, dict) else None
            if not isinstance(oid, str) or not ID_RE.match(oid):
                self.add(f"{where}[{i}].id", "应为小写字母开头的标识，如 a、m1")
            elif oid in seen:
                self.add(f"{where}[{i}].id", f"选项标识 “{oid}” 重复")
            else:
                seen.add(oid)


STEP_KINDS: dict[str, type[StepKind]] = {}


def step_kind(name: str):
    def register(cls):
        cls.name = name
        STEP_KINDS[name] = cls
        return cls

    return register


class StepKind:
    name: ClassVar[str]
    label: ClassVar[str]
    interactive: ClassVar[bool] = True  # False: the player only presses 继续
    scored: ClassVar[bool] = False

    @classmethod
    def check(cls, c: Checker, step: dict, where: str) -> None:
        raise NotImplementedError

    @classmethod
    def targets(cls, step: dict) -> list[str]:
        out = [step.get("next"), step.get("next_wrong")]
        return [t for t in out if isinstance(t, str) and t]

    @classmethod
    def max_points(cls, step: dict) -> dict[str, float]:
        return {}

    @classmethod
    def parse(cls, step: dict, form) -> Any:
        return None

    @classmethod
    def take(cls, step: dict, response: Any, ctx: Context) -> Taken:
        raise NotImplementedError

    @classmethod
    def alternatives(cls, step: dict, ctx: Context) -> list[tuple[Any, Taken]]:
        """(response, result) for each distinct way out, the best first."""
        return [(None, cls.take(step, None, ctx))]


# --- narration and dialogue -------------------------------------------------------------------


@step_kind("dialogue")
class Dialogue(StepKind):
    label = "对话/旁白"
    interactive = False

    @classmethod
    def check(cls, c, step, where):
        c.text(step, "text", where)
        if step.get("speaker", "villager") not in ("villager", "narrator", "agent"):
            c.add(f"{where}.speaker", "应为 villager（村民）、narrator（旁白）或 agent（代办员）")
        c.target(step, "next", where)

    @classmethod
    def take(cls, step, response, ctx):
        return Taken(next=step["next"], label="继续")


# --- choices with consequences ----------------------------------------------------------------


@step_kind("choice")
class Choice(StepKind):
    """Each option leads somewhere and moves the score per dimension."""

    label = "选择"
    scored = True

    @classmethod
    def check(cls, c, step, where):
        c.text(step, "prompt", where)
        options = step.get("options")
        if not c.listing(options, f"{where}.options", 2, 6):
            return
        c.option_ids(options, f"{where}.options")
        best = 0
        for i, opt in enumerate(options):
            here = f"{where}.options[{i}]"
            if not isinstance(opt, dict):
                c.add(here, "应为映射（id、text、next、score、feedback）")
                continue
            c.text(opt, "text", here)
            c.text(opt, "feedback", here)
            c.target(opt, "next", here)
            c.score(opt.get("score"), f"{here}.score")
            best += opt.get("best") is True
        if best != 1:
            c.add(f"{where}.options", f"应恰好有 1 个选项标 best: true（最佳做法），现有 {best} 个")

    @classmethod
    def targets(cls, step):
        return [o["next"] for o in step.get("options", []) if isinstance(o, dict) and o.get("next")]

    @classmethod
    def max_points(cls, step):
        out: dict[str, float] = {}
        for o in step["options"]:
            for dim, pts in (o.get("score") or {}).items():
                out[dim] = max(out.get(dim, 0.0), float(pts))
        return out

    @classmethod
    def parse(cls, step, form):
        chosen = form.getlist("option")
        if len(chosen) != 1:
            raise StepInputError("请选择一项")
        if chosen[0] not in {o["id"] for o in step["options"]}:
            raise StepInputError("这个选项不在本步的选项中")
        return chosen[0]

    @classmethod
    def take(cls, step, response, ctx):
        opt = next((o for o in step["options"] if o["id"] == response), None)
        if opt is None:
            raise StepInputError("这个选项不在本步的选项中")
        points = {d: float(p) for d, p in (opt.get("score") or {}).items()}
        return Taken(
            points=points,
            next=opt["next"],
            correct=bool(opt.get("best")),
            feedback=[opt["feedback"]],
            label=opt["text"],
        )

    @classmethod
    def alternatives(cls, step, ctx):
        opts = sorted(step["options"], key=lambda o: not o.get("best"))
        return [(o["id"], cls.take(step, o["id"], ctx)) for o in opts]


class _Pick(StepKind):
    """Options marked right or wrong; points for the share of right picks."""

    scored = True
    single: ClassVar[bool] = False
    min_options: ClassVar[int] = 3

    @classmethod
    def check(cls, c, step, where):
        c.text(step, "prompt", where)
        c.dimension(step.get("dimension"), f"{where}.dimension")
        c.points(step.get("points"), f"{where}.points")
        c.target(step, "next", where)
        c.target(step, "next_wrong", where, required=False)
        options = step.get("options")
        if not c.listing(options, f"{where}.options", cls.min_options, 10):
            return
        c.option_ids(options, f"{where}.options")
        right = 0
        for i, opt in enumerate(options):
            here = f"{where}.options[{i}]"
            if not isinstance(opt, dict):
                c.add(here, "应为映射（id、text、correct）")
                continue
            c.text(opt, "text", here)
            if not isinstance(opt.get("correct"), bool):
                c.add(f"{here}.correct", "应为 true 或 false")
                continue
            right += opt["correct"]
            if not opt["correct"]:
                c.text(opt, "feedback", here)
            cls.check_option(c, opt, here)
        if cls.single and right != 1:
            c.add(f"{where}.options", f"应恰好有 1 个正确选项，现有 {right} 个")
        elif not cls.single and not 1 <= right < len(options):
            c.add(f"{where}.options", "至少 1 个正确选项，也要有干扰项")

    @classmethod
    def check_option(cls, c, opt, where):
        pass

    @classmethod
    def max_points(cls, step):
        return {step["dimension"]: float(step["points"])}

    @classmethod
    def parse(cls, step, form):
        chosen = form.getlist("option")
        known = {o["id"] for o in step["options"]}
        if any(x not in known for x in chosen):
            raise StepInputError("这个选项不在本步的选项中")
        if len(set(chosen)) != len(chosen):
            raise StepInputError("同一选项提交了多次")
        if cls.single and len(chosen) != 1:
            raise StepInputError("请选择一项")
        if not chosen:
            raise StepInputError("请至少选择一项")
        return sorted(chosen)

    @classmethod
    def take(cls, step, response, ctx):
        from academy.simulations.rules import pick_fraction

        opts = step["options"]
        known = {o["id"] for o in opts}
        if not isinstance(response, list) or any(x not in known for x in response):
            raise StepInputError("这个选项不在本步的选项中")
        picked = set(response)
        right = {o["id"] for o in opts if o["correct"]}
        fraction = pick_fraction(right, picked, len(opts))
        feedback = []
        for o in opts:
            if o["id"] in picked and not o["correct"]:
                feedback.append(f"“{o['text']}”不对：{o['feedback']}")
            elif o["id"] not in picked and o["correct"]:
                feedback.append(f"漏了“{o['text']}”。{o.get('feedback', '')}".strip())
        correct = picked == right
        if correct and step.get("feedback"):
            feedback.append(step["feedback"])
        nxt = step["next"] if correct else step.get("next_wrong", step["next"])
        return Taken(
            points={step["dimension"]: round(float(step["points"]) * fraction, 2)},
            next=nxt,
            correct=correct,
            feedback=feedback,
            label="、".join(o["text"] for o in opts if o["id"] in picked),
        )

    @classmethod
    def alternatives(cls, step, ctx):
        right = sorted(o["id"] for o in step["options"] if o["correct"])
        wrong = sorted(o["id"] for o in step["options"] if not o["correct"])
        worst = wrong if not cls.single else wrong[:1]
        return [(right, cls.take(step, right, ctx)), (worst, cls.take(step, worst, ctx))]


@step_kind("materials")
class Materials(_Pick):
    """Pick what to ask the villager to bring, from a list with distractors."""

    label = "选材料"


@step_kind("channel")
class Channel(_Pick):
    """Choose how (现场办/上门办/预约办/云帮办) and where (which office or 浙里办)."""

    label = "选渠道"
    single = True

    @classmethod
    def check_option(cls, c, opt, where):
        if opt.get("channel") not in CHANNELS:
            c.add(f"{where}.channel", f"应为：{'、'.join(CHANNELS)}")


# --- a replica of the real form ---------------------------------------------------------------


@step_kind("form")
class Form(StepKind):
    """Fields checked as in the module form practice (learning.rules.check_form)."""

    label = "填表"
    scored = True

    @classmethod
    def check(cls, c, step, where):
        from academy.content.modules import _Checker, _form_fields

        c.text(step, "title", where)
        c.text(step, "case", where)
        c.dimension(step.get("dimension"), f"{where}.dimension")
        c.points(step.get("points"), f"{where}.points")
        c.target(step, "next", where)
        c.target(step, "next_wrong", where, required=False)
        inner = _Checker(c.path)
        _form_fields(inner, step.get("fields"), f"{where}.fields")
        c.problems.extend(inner.problems)

    @classmethod
    def max_points(cls, step):
        return {step["dimension"]: float(step["points"])}

    @classmethod
    def parse(cls, step, form):
        known = {f["id"] for f in step["fields"]}
        values = {k[2:]: v for k, v in form.items() if k.startswith("f_")}
        if set(values) - known:
            raise StepInputError("表单中有本表没有的栏目")
        if any(len(v) > 200 for v in values.values()):
            raise StepInputError("每一栏不超过 200 字")
        return values

    @classmethod
    def take(cls, step, response, ctx):
        from academy.learning.rules import PracticeInputError, check_form

        try:
            result = check_form(step["fields"], response or {})
        except PracticeInputError as err:
            raise StepInputError(str(err)) from None
        wrong = sum(1 for f in result.feedback if not f.ok)
        fraction = max(0.0, 1 - wrong / len(step["fields"]))
        nxt = step["next"] if result.correct else step.get("next_wrong", step["next"])
        return Taken(
            points={step["dimension"]: round(float(step["points"]) * fraction, 2)},
            next=nxt,
            correct=result.correct,
            feedback=[f.message for f in result.feedback if not f.ok] or ["表填得完全正确。"],
            label=f"填写《{step['title'].strip('《》')}》，{wrong} 处有误" if wrong else "表填对了",
        )

    @classmethod
    def alternatives(cls, step, ctx):
        right = {f["id"]: str(f.get("expected") or "") for f in step["fields"]}
        empty: dict[str, str] = {}
        return [(right, cls.take(step, right, ctx)), (empty, cls.take(step, empty, ctx))]


# --- what the agent would say: marked later by an expert ----------------------------------------


@step_kind("free_text")
class FreeText(StepKind):
    label = "口头答复（专家评分）"
    scored = True

    @classmethod
    def check(cls, c, step, where):
        c.text(step, "prompt", where)
        c.text(step, "model_answer", where)
        c.dimension(step.get("dimension"), f"{where}.dimension")
        c.points(step.get("points"), f"{where}.points")
        c.target(step, "next", where)
        rubric = step.get("rubric")
        if c.listing(rubric, f"{where}.rubric", 1, 8):
            for i, line in enumerate(rubric):
                if not isinstance(line, str) or not line.strip():
                    c.add(f"{where}.rubric[{i}]", "应为非空文本（一条评分要点）")

    @classmethod
    def max_points(cls, step):
        return {step["dimension"]: float(step["points"])}

    @classmethod
    def parse(cls, step, form):
        text = (form.get("reply") or "").strip()
        if not text:
            raise StepInputError("请写下您会怎么说")
        if len(text) > 2000:
            raise StepInputError("答复不超过 2000 字")
        return text

    @classmethod
    def take(cls, step, response, ctx):
        return Taken(
            points={step["dimension"]: 0.0},
            next=step["next"],
            pending=True,
            feedback=[
                "您的答复已保存，由县级专家按评分要点打分。参考说法：" + step["model_answer"]
            ],
            label=(response or "")[:60],
        )


# --- something goes wrong --------------------------------------------------------------------


@step_kind("complication")
class Complication(StepKind):
    """One event drawn per run from ``draw`` (reproducible from the run's seed)."""

    label = "突发情况"
    interactive = False

    @classmethod
    def check(cls, c, step, where):
        draws = step.get("draw")
        if not c.listing(draws, f"{where}.draw", 1, 8):
            return
        c.option_ids(draws, f"{where}.draw")
        for i, ev in enumerate(draws):
            here = f"{where}.draw[{i}]"
            if not isinstance(ev, dict):
                c.add(here, "应为映射（id、event、text、next）")
                continue
            if ev.get("event") not in EVENTS:
                c.add(f"{here}.event", f"应为：{'、'.join(EVENTS)}")
            c.text(ev, "text", here)
            c.target(ev, "next", here)

    @classmethod
    def targets(cls, step):
        return [e["next"] for e in step.get("draw", []) if isinstance(e, dict) and e.get("next")]

    @classmethod
    def drawn(cls, step: dict, ctx: Context) -> dict:
        draws = step["draw"]
        return draws[ctx.draw(step["id"], len(draws))]

    @classmethod
    def take(cls, step, response, ctx):
        ev = cls.drawn(step, ctx)
        return Taken(next=ev["next"], label=EVENTS[ev["event"]])


@step_kind("end")
class End(StepKind):
    label = "结局"
    interactive = False

    @classmethod
    def check(cls, c, step, where):
        if step.get("outcome") not in OUTCOMES:
            c.add(
                f"{where}.outcome",
                "应为 solved（一次办结）、second_trip（再跑一趟）或 failed（没办成）",
            )
        c.text(step, "text", where)
        c.text(step, "debrief", where)

    @classmethod
    def targets(cls, step):
        return []

    @classmethod
    def take(cls, step, response, ctx):
        return Taken(next=None, label=OUTCOMES.get(step.get("outcome"), ""))

    @classmethod
    def alternatives(cls, step, ctx):
        return []


REQUIRED_KINDS = (
    "dialogue",
    "choice",
    "materials",
    "channel",
    "form",
    "free_text",
    "complication",
    "end",
)


def check_registry(used: set[str] | None = None) -> list[str]:
    """Kinds something needs but nobody registered (empty list = all good)."""
    wanted = set(REQUIRED_KINDS) | (used or set())
    missing = wanted - set(STEP_KINDS)
    for name, cls in STEP_KINDS.items():
        for method in ("check", "take"):
            if getattr(cls, method) is getattr(StepKind, method):
                missing.add(f"{name}.{method}")
    return sorted(missing)


def get_kind(name: str) -> type[StepKind]:
    try:
        return STEP_KINDS[name]
    except KeyError:
        raise StepInputError(f"未注册的步骤类型：{name}") from None
