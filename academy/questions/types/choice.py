"""Multiple choice (one or several right answers) and true/false."""

from __future__ import annotations

from academy.questions import rules
from academy.questions.interchange import percent_text, php_trim
from academy.questions.spec import Answer, Question
from academy.questions.types.base import (
    Presentation,
    QuestionType,
    ResponseError,
    pct,
    question_type,
    shuffled,
)


def int_list(response, limit: int) -> list[int]:
    if not isinstance(response, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in response
    ):
        raise ResponseError("答案格式不正确")
    if any(not 0 <= i < limit for i in response) or len(set(response)) != len(response):
        raise ResponseError("选项不存在")
    return response


def answers_yaml(q: Question) -> list[dict]:
    out = []
    for a in q.answers:
        entry: dict = {"text": a.text, "fraction": _percent(a.fraction)}
        if a.feedback:
            entry["feedback"] = a.feedback
        out.append(entry)
    return out


def _percent(fraction: float) -> int | float:
    value = float(percent_text(fraction))
    return int(value) if value.is_integer() else value


@question_type("multichoice")
class MultiChoice(QuestionType):
    label = "选择题"
    help = "单选或多选；每个选项设定得分，可有部分得分和负分。"
    answers_label = "选项"
    rows, blank_rows = "answers", 6
    bank_keys = frozenset({"single", "answers"})
    gift_order = 30
    xml_names = ("multichoice",)
    excel_labels = {"单选": {"single": True}, "多选": {"single": False}}

    @classmethod
    def check(cls, data, response):
        chosen = int_list(response, len(data["answers"]))
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

    @classmethod
    def demo_fields(cls, data, name, right, rng):
        good = [i for i, a in enumerate(data["answers"]) if a["fraction"] > 0]
        bad = [i for i, a in enumerate(data["answers"]) if a["fraction"] <= 0] or [0]
        if data.get("single", True):
            best = max(good, key=lambda i: data["answers"][i]["fraction"]) if good else 0
            return {name: [str(best if right else rng.choice(bad))]}
        if right:
            return {name: [str(i) for i in good]}
        return {name: [str(i) for i in sorted({*good[:1], rng.choice(bad)})]}

    @classmethod
    def problems(cls, q, add):
        add = _on_answers(add)
        if len(q.answers) < 2:
            add(f"选择题至少需要 2 个选项（现有 {len(q.answers)} 个）")
        elif q.single:
            if max(a.fraction for a in q.answers) != 1.0:
                add("单选题需要一个得分 100% 的正确选项")
        else:
            total = sum(a.fraction for a in q.answers if a.fraction > 0)
            if round(total, 2) != 1.0:
                add(f"多选题正确选项的得分之和应为 100%，现为 {percent_text(total)}%")

    @classmethod
    def bank_rules(cls, q, answers=True):
        if not answers:
            return []
        if q.single and len(q.answers) < 3:
            return [("answers", "单选题至少需要 3 个选项")]
        problems = []
        if not q.single:
            if len([a for a in q.answers if a.fraction > 0]) < 2:
                problems.append(("answers", "多选题至少需要 2 个得分为正的正确选项"))
            if len(q.answers) < 4:
                problems.append(("answers", "多选题至少需要 4 个选项"))
        return problems

    @classmethod
    def type_label(cls, q):
        return "单选题" if q.single else "多选题"

    @classmethod
    def candidate_text(cls, data):
        return cls.label + ("" if data.get("single", True) else "（多选）")

    @classmethod
    def summary(cls, q):
        rights = [a for a in q.answers if a.fraction > 0]
        if q.single:
            rights = [a for a in q.answers if a.fraction == 1.0] or rights
            return "正确：" + "；".join(a.text for a in rights) + f"（共 {len(q.answers)} 项）"
        return (
            "正确："
            + "；".join(f"{a.text}（{pct(a.fraction)}）" for a in rights)
            + f"（共 {len(q.answers)} 项）"
        )

    @classmethod
    def presentation(cls, data, key, shuffle_answers=True):
        n = len(data["answers"])
        return Presentation(answer_order=shuffled(n, key) if shuffle_answers else list(range(n)))

    @classmethod
    def from_editor(cls, form, q, problems):
        q.single = form.single.data != "multiple"
        q.answers = form.answer_rows(problems)

    @classmethod
    def editor_data(cls, q):
        return {"answers": [_row(a) for a in q.answers]}

    @classmethod
    def bank_read(cls, raw, q, ctx):
        single = raw.get("single", True)
        if not isinstance(single, bool):
            ctx.add("single", "应为 true 或 false")
        q.single = single is not False
        q.answers = ctx.answers(raw)

    @classmethod
    def bank_dump(cls, q):
        return {"single": q.single, "answers": answers_yaml(q)}

    @classmethod
    def gift_claims(cls, answers):
        return answers is not None and "~" in answers

    @classmethod
    def gift_read(cls, q, answers, at, reader):
        q.single = "=" in answers
        pieces = reader.lead(reader.pieces(answers, at, "~="), "“=”（正确）或 “~”（错误）")
        if len(pieces) < 2:
            reader.problem(at, f"选择题至少需要 2 个选项（现有 {len(pieces)} 个）")
        for sep, piece, offset in pieces:
            piece = php_trim(piece)
            fraction = 1.0
            if sep == "~":
                fraction, piece = reader.weight(piece, offset, 0.0)
            answer, feedback = reader.comment(piece, q.text_format)
            if not answer:
                reader.problem(offset, "选项内容为空")
            q.answers.append(Answer(answer, fraction, feedback))

    @classmethod
    def gift_block(cls, q, w):
        first_right = next((a for a in q.answers if a.fraction == 1.0), None) if q.single else None
        lines = ""
        for a in q.answers:
            prefix = "=" if a is first_right else w.weighted("~", a.fraction, a.text, 0.0)
            lines += w.answer(prefix, a, q.text_format)
        return w.block("{\n", lines, q)

    @classmethod
    def xml_read(cls, el, q, x):
        q.single = php_trim(el.findtext("single", "true")) not in ("false", "", "0")
        q.answers = [
            Answer(x.text(a), x.fraction(a.get("fraction")), x.text(a, "feedback"))
            for a in el.findall("answer")
        ]

    @classmethod
    def xml_body(cls, q, w):
        out = f"    <single>{'true' if q.single else 'false'}</single>\n"
        out += "    <shuffleanswers>true</shuffleanswers>\n"
        out += "    <answernumbering>ABCD</answernumbering>\n"
        out += "    <showstandardinstruction>0</showstandardinstruction>\n"
        return out + w.combined(q.text_format) + w.answers(q.answers, q.text_format)

    @classmethod
    def excel_read(cls, row, q, letters):
        options = row.options(letters)
        q.answers = [Answer(text, 0.0, feedback) for _, text, feedback in options]
        row.rights(q, options, required=True)

    @classmethod
    def excel_label(cls, q):
        return "单选" if q.single else "多选"

    @classmethod
    def excel_write(cls, q, cells, w):
        cells[w.RIGHT] = w.right_letters(q)
        return [(a.text, a.feedback) for a in q.answers], []


def _row(a: Answer) -> dict:
    return {"text": a.text, "fraction": percent_text(a.fraction), "feedback": a.feedback}


def _on_answers(add):
    return lambda reason: add("answers", reason)


def _truth(q: Question) -> bool | None:
    right = next((a for a in q.answers if a.fraction == 1.0), None)
    return None if right is None else right.text == "true"


def tf_answers(truth: bool, feedback_true: str, feedback_false: str) -> list[Answer]:
    return [
        Answer("true", 1.0 if truth else 0.0, feedback_true),
        Answer("false", 0.0 if truth else 1.0, feedback_false),
    ]


TF_VALUES = {"T": True, "TRUE": True, "F": False, "FALSE": False}
TF_LABELS = {"true": "对", "false": "错"}


@question_type("truefalse")
class TrueFalse(QuestionType):
    label = "判断题"
    help = "判断对错。"
    bank_keys = frozenset({"answer", "feedback_true", "feedback_false"})
    gift_order = 50
    xml_names = ("truefalse",)
    excel_labels = {"判断": {}}

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

    @classmethod
    def demo_fields(cls, data, name, right, rng):
        truth = next(a["text"] for a in data["answers"] if a["fraction"] == 1.0)
        return {name: [truth if right else ("false" if truth == "true" else "true")]}

    @classmethod
    def problems(cls, q, add):
        texts = sorted(a.text for a in q.answers)
        rights = [a for a in q.answers if a.fraction == 1.0]
        if texts != ["false", "true"] or len(rights) != 1:
            add("answers", "判断题应有 true 和 false 两个答案，其中一个得分 100%")

    @classmethod
    def summary(cls, q):
        right = next((a.text for a in q.answers if a.fraction == 1.0), "")
        return "正确：" + TF_LABELS.get(right, "？")

    @classmethod
    def from_editor(cls, form, q, problems):
        if form.truth.data not in ("true", "false"):
            problems.append(("truth", "请选择正确答案是“对”还是“错”"))
        q.answers = tf_answers(
            form.truth.data == "true",
            php_trim(form.feedback_true.data or ""),
            php_trim(form.feedback_false.data or ""),
        )

    @classmethod
    def editor_data(cls, q):
        truth = _truth(q)
        by_text = {a.text: a.feedback for a in q.answers}
        return {
            "truth": None if truth is None else ("true" if truth else "false"),
            "feedback_true": by_text.get("true", ""),
            "feedback_false": by_text.get("false", ""),
        }

    @classmethod
    def bank_read(cls, raw, q, ctx):
        if not isinstance(raw.get("answer"), bool):
            ctx.add("answer", "判断题的 answer 应为 true 或 false")
            return
        q.answers = tf_answers(
            raw["answer"],
            str(raw.get("feedback_true", "") or ""),
            str(raw.get("feedback_false", "") or ""),
        )

    @classmethod
    def bank_dump(cls, q):
        by_text = {a.text: a.feedback for a in q.answers}
        out: dict = {"answer": _truth(q)}
        if by_text.get("true"):
            out["feedback_true"] = by_text["true"]
        if by_text.get("false"):
            out["feedback_false"] = by_text["false"]
        return out

    @classmethod
    def gift_claims(cls, answers):
        if not answers:
            return False
        check = answers
        if answers.find("#") > 0:
            check = php_trim(answers[: answers.find("#")])
        return check in TF_VALUES

    @classmethod
    def gift_read(cls, q, answers, at, reader):
        # {T#shown if wrong#shown if right}: the first feedback is for the wrong answer.
        bits = [*answers.split("#", 2), "", ""]
        truth = TF_VALUES[php_trim(bits[0])]
        wrong = reader.text(bits[1], q.text_format)
        right = reader.text(bits[2], q.text_format)
        q.answers = tf_answers(truth, right if truth else wrong, wrong if truth else right)

    @classmethod
    def gift_block(cls, q, w):
        fmt = q.text_format
        right = next(a for a in q.answers if a.fraction == 1.0)
        wrong = next(a for a in q.answers if a is not right)
        out = "{" + ("TRUE" if right.text == "true" else "FALSE")
        if wrong.feedback:
            out += "#" + w.text(wrong.feedback, fmt)
        elif right.feedback:
            out += "#"
        if right.feedback:
            out += "#" + w.text(right.feedback, fmt)
        return out + w.general(q) + "}"

    @classmethod
    def xml_read(cls, el, q, x):
        truth, feedback = None, {"true": "", "false": ""}
        for index, a in enumerate(el.findall("answer")):
            value = x.text(a)
            if value not in ("true", "false"):  # an old file: true first, then false
                value = "true" if index == 0 else "false"
            right = x.fraction(a.get("fraction")) == 1.0
            truth = right if value == "true" else not right
            feedback[value] = x.text(a, "feedback")
        if truth is None:
            x.reasons.append("判断题缺少 true/false 答案")
        else:
            q.answers = tf_answers(truth, feedback["true"], feedback["false"])

    @classmethod
    def xml_body(cls, q, w):
        by_text = {a.text: a for a in q.answers}
        return w.answers([by_text["true"], by_text["false"]], q.text_format)

    @classmethod
    def excel_read(cls, row, q, letters):
        truth = row.truth()
        if truth is not None:
            q.answers = tf_answers(truth, row.get(row.FEEDBACK + "A"), row.get(row.FEEDBACK + "B"))

    @classmethod
    def excel_write(cls, q, cells, w):
        by_text = {a.text: a for a in q.answers}
        cells[w.RIGHT] = "对" if _truth(q) else "错"
        cells[w.FEEDBACK + "A"] = by_text["true"].feedback
        cells[w.FEEDBACK + "B"] = by_text["false"].feedback
        return [], []

    @classmethod
    def diff_content(cls, old, new, d):
        old, new = old.get("answers", []), new.get("answers", [])
        changes = []
        right = {a["text"] for a in old if a.get("fraction") == 1.0}
        now = {a["text"] for a in new if a.get("fraction") == 1.0}
        if right != now:
            before = "、".join(TF_LABELS.get(t, t) for t in sorted(right)) or "无"
            after = "、".join(TF_LABELS.get(t, t) for t in sorted(now)) or "无"
            changes.append(d.Change("answers", "正确答案/分值", f"{before} → {after}"))
        feedback = [
            f"答 “{TF_LABELS.get(a['text'], a['text'])}” 时"
            for a in new
            for b in old
            if a["text"] == b["text"] and a.get("feedback", "") != b.get("feedback", "")
        ]
        if feedback:
            changes.append(d.Change("answers", "反馈", "、".join(feedback) + "的反馈已修改"))
        return changes
