"""Typed answers: short answer (accepted texts, ``*`` a wildcard) and numerical (values with
a tolerance each, and Moodle's ``*`` answer: feedback for any other number)."""

from __future__ import annotations

from academy.questions import rules
from academy.questions.interchange import number_text, parse_number, percent_text, php_trim
from academy.questions.spec import Answer
from academy.questions.types.base import QuestionType, ResponseError, pct, question_type
from academy.questions.types.choice import answers_yaml


def _rights(q, add) -> None:
    if not q.answers:
        add("answers", "至少需要一个答案")
    elif not any(a.fraction == 1.0 for a in q.answers):
        add("answers", "至少需要一个得分 100% 的答案")


def _rows(q) -> list[dict]:
    return [
        {
            "text": a.text,
            "fraction": percent_text(a.fraction),
            "feedback": a.feedback,
            "tolerance": number_text(float(a.tolerance)) if a.tolerance else "",
        }
        for a in q.answers
    ]


@question_type("shortanswer")
class ShortAnswer(QuestionType):
    label = "填空题"
    help = "填写文字，可设置多个可接受的答案（* 为通配符），不区分大小写和全半角。"
    answers_label = "可接受的答案"
    rows, blank_rows, row_default = "answers", 4, {"fraction": "100"}
    bank_keys = frozenset({"answers"})
    gift_order = 90  # what no other type claims
    xml_names = ("shortanswer",)
    excel_labels = {"填空": {}}

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

    @classmethod
    def demo_fields(cls, data, name, right, rng):
        best = next((a["text"] for a in data["answers"] if a["fraction"] == 1.0), "")
        return {name: [best if right else "不清楚"]}

    @classmethod
    def problems(cls, q, add):
        _rights(q, add)

    @classmethod
    def summary(cls, q):
        return " | ".join(
            a.text if a.fraction == 1.0 else f"{a.text}（{pct(a.fraction)}）" for a in q.answers
        )

    @classmethod
    def from_editor(cls, form, q, problems):
        q.answers = form.answer_rows(problems)

    @classmethod
    def editor_data(cls, q):
        return {"answers": _rows(q)}

    @classmethod
    def bank_read(cls, raw, q, ctx):
        q.answers = ctx.answers(raw)

    @classmethod
    def bank_dump(cls, q):
        return {"answers": answers_yaml(q)}

    @classmethod
    def gift_claims(cls, answers):
        return bool(answers)

    @classmethod
    def gift_read(cls, q, answers, at, reader):
        pieces = reader.lead(reader.pieces(answers, at, "="), "“=”")
        if not pieces and not reader.failed:
            reader.problem(at, "填空题至少需要一个答案")
        for _, piece, offset in pieces:
            fraction, piece = reader.weight(php_trim(piece), offset, 1.0)
            answer, feedback = reader.comment(piece, q.text_format)
            if not answer:
                reader.problem(offset, "答案内容为空")
            q.answers.append(Answer(answer, fraction, feedback))

    @classmethod
    def gift_block(cls, q, w):
        lines = "".join(
            w.answer(w.weighted("=", a.fraction, a.text, 1.0), a, q.text_format) for a in q.answers
        )
        return w.block("{\n", lines, q)

    @classmethod
    def gift_unsupported(cls, q):
        if any("->" in a.text + a.feedback for a in q.answers):
            return ["填空题的答案或反馈含有 “->”，GIFT 会把它读成配对题"]
        return []

    @classmethod
    def xml_read(cls, el, q, x):
        q.answers = [
            Answer(x.text(a), x.fraction(a.get("fraction")), x.text(a, "feedback"))
            for a in el.findall("answer")
        ]

    @classmethod
    def xml_body(cls, q, w):
        return "    <usecase>0</usecase>\n" + w.answers(q.answers, q.text_format)

    @classmethod
    def excel_read(cls, row, q, letters):
        options = row.options(letters)
        if options:
            q.answers = [Answer(text, 1.0, feedback) for _, text, feedback in options]
            row.rights(q, options, required=False)
            return
        q.answers = [Answer(a.strip(), 1.0) for a in row.get(row.RIGHT).split("|") if a.strip()]
        if not q.answers:
            row.problem(row.RIGHT, "填空题请在此写可接受的答案（多个用 | 分隔），或填在选项列中")

    @classmethod
    def excel_write(cls, q, cells, w):
        if all(a.fraction == 1.0 and not a.feedback and "|" not in a.text for a in q.answers):
            cells[w.RIGHT] = "|".join(a.text for a in q.answers)
            return [], []
        cells[w.RIGHT] = w.right_letters(q)
        return [(a.text, a.feedback) for a in q.answers], []


OTHER = "*"  # Moodle's numerical answer for any other number
OTHER_SCORED = (
    "“*”（其他答案）在本系统只用来给出反馈，得分须为 0%（GIFT 写成 ~#反馈 或 =%0%*#反馈）"
)


def _tolerance(a: Answer) -> str:
    return number_text(float(a.tolerance or 0.0))


@question_type("numerical")
class Numerical(ShortAnswer):
    label = "数值题"
    help = "填写数字，答案可有误差范围。"
    answers_label = "答案数值"
    rows, blank_rows, row_default = "answers", 3, {"fraction": "100"}
    bank_keys = frozenset({"answers", "other_feedback"})
    gift_order = 20
    xml_names = ("numerical",)
    excel_labels = {"数值": {}}

    @classmethod
    def grade(cls, data, response):
        answers = [
            (float(a["text"]), a.get("tolerance") or 0.0, a["fraction"]) for a in data["answers"]
        ]
        return rules.grade_numerical(answers, response)

    @classmethod
    def problems(cls, q, add):
        _rights(q, add)
        for a in q.answers:
            if parse_number(a.text) is None:
                add("answers", f"数值题的答案 “{a.text}” 不是数字")
            if a.tolerance is not None and a.tolerance < 0:
                add("answers", f"答案 {a.text} 的误差不能为负数")

    @classmethod
    def summary(cls, q):
        return " | ".join(
            f"{a.text} ± {_tolerance(a)}" + ("" if a.fraction == 1.0 else f"（{pct(a.fraction)}）")
            for a in q.answers
        )

    @classmethod
    def from_editor(cls, form, q, problems):
        q.answers = form.answer_rows(problems, numeric=True)
        q.other_feedback = php_trim(form.other_feedback.data or "")

    @classmethod
    def bank_read(cls, raw, q, ctx):
        q.answers = ctx.answers(raw, numeric=True)
        other = raw.get("other_feedback", "")
        if not isinstance(other, str):
            ctx.add("other_feedback", "应为文本（答其他数值时的反馈）")
        else:
            q.other_feedback = other.strip()

    @classmethod
    def bank_dump(cls, q):
        answers = []
        for a in q.answers:
            value = parse_number(a.text)
            entry: dict = {"value": int(value) if value is not None and value.is_integer()
                           and abs(value) < 1e15 else value}  # fmt: skip
            entry["tolerance"] = float(a.tolerance or 0.0)
            entry["fraction"] = float(percent_text(a.fraction))
            if a.feedback:
                entry["feedback"] = a.feedback
            answers.append(entry)
        out: dict = {"answers": answers}
        if q.other_feedback:
            out["other_feedback"] = q.other_feedback
        return out

    @classmethod
    def gift_claims(cls, answers):
        return bool(answers) and answers[0] == "#"

    @classmethod
    def gift_read(cls, q, answers, at, reader):
        text, at = answers[1:], at + 1
        other = text.find("~")
        if other != -1:  # ~#feedback: Moodle's "*" answer, 0 %
            q.other_feedback = reader.comment(text[other + 1 :], q.text_format)[1]
            text = text[:other]
        pieces = reader.pieces(text, at, "=")
        if not php_trim(pieces[0][1]):
            pieces = pieces[1:]
        if not pieces:
            reader.problem(at, "数值题缺少答案，如 {#60} 或 {#60:2}")
        for _, piece, offset in pieces:
            fraction, piece = reader.weight(php_trim(piece), offset, 1.0)
            value, feedback = reader.comment(piece, q.text_format)
            if value == OTHER:  # =*#feedback or =%0%*#feedback
                if fraction != 0.0:  # Moodle: any number would get these marks
                    reader.problem(offset, OTHER_SCORED)
                q.other_feedback = feedback
                continue
            answer = reader.number(value, offset)
            if answer is not None:
                q.answers.append(Answer(number_text(answer[0]), fraction, feedback, answer[1]))

    @classmethod
    def gift_block(cls, q, w):
        fmt = q.text_format
        lines = ""
        for a in q.answers:
            line = w.weighted("=", a.fraction, "", 1.0) + f"{a.text}:{_tolerance(a)}"
            if a.feedback:
                line += "#" + w.text(a.feedback, fmt)
            lines += "\t" + line + "\n"
        if q.other_feedback:
            lines += "\t~#" + w.text(q.other_feedback, fmt) + "\n"
        return w.block("{#\n", lines, q)

    @classmethod
    def gift_unsupported(cls, q):
        return []

    @classmethod
    def xml_read(cls, el, q, x):
        for a in el.findall("answer"):
            value = x.text(a) or OTHER
            fraction = x.fraction(a.findtext("fraction") or a.get("fraction"))
            if value == OTHER:
                if fraction != 0.0:
                    x.reasons.append(OTHER_SCORED)
                q.other_feedback = x.text(a, "feedback")
                continue
            number = parse_number(value)
            tolerance_text = php_trim(a.findtext("tolerance") or "0")
            tolerance = parse_number(tolerance_text)
            if number is None:
                x.reasons.append(f"数值题的答案 “{value}” 不是数字")
            elif tolerance is None or tolerance < 0:
                x.reasons.append(f"答案 {value} 的误差 “{tolerance_text}” 应为非负数")
            else:
                q.answers.append(
                    Answer(number_text(number), fraction, x.text(a, "feedback"), tolerance)
                )

    @classmethod
    def xml_body(cls, q, w):
        fmt = q.text_format
        out = "".join(
            w.answer(a, fmt, f"      <tolerance>{_tolerance(a)}</tolerance>\n") for a in q.answers
        )
        if q.other_feedback:
            other = Answer(OTHER, 0.0, q.other_feedback)
            out += w.answer(other, fmt, "      <tolerance>0</tolerance>\n")
        return out

    @classmethod
    def excel_read(cls, row, q, letters):
        options = row.options(letters)
        tolerance_text = row.normalised(row.TOLERANCE)
        tolerance = parse_number(tolerance_text) if tolerance_text else 0.0
        if tolerance is None or tolerance < 0:
            row.problem(row.TOLERANCE, f"误差 “{tolerance_text}” 应为非负数")
            tolerance = 0.0
        if not options:
            cells = [c.strip() for c in row.get(row.RIGHT).split("|") if c.strip()]
            if not cells:
                row.problem(row.RIGHT, "数值题请在此写正确的数值，或填在选项列中")
            for cell in cells:
                parsed = row.number_cell(row.RIGHT, cell, tolerance)
                if parsed is not None:
                    q.answers.append(Answer(number_text(parsed[0]), 1.0, "", parsed[1]))
            return
        used, failed = [], False
        for letter, cell, feedback in options:
            if cell == OTHER:
                q.other_feedback = feedback
                continue
            parsed = row.number_cell(row.OPTION + letter, cell, tolerance)
            if parsed is None:
                failed = True
                continue
            q.answers.append(Answer(number_text(parsed[0]), 1.0, feedback, parsed[1]))
            used.append(letter)
        if not failed:
            row.rights(q, [(letter, "", "") for letter in used], required=False)

    @classmethod
    def excel_write(cls, q, cells, w):
        simple = (
            len(q.answers) == 1
            and q.answers[0].fraction == 1.0
            and not q.answers[0].feedback
            and not q.other_feedback
        )
        if simple:
            cells[w.RIGHT] = q.answers[0].text
            cells[w.TOLERANCE] = _tolerance(q.answers[0])
            return [], []
        tolerances = {_tolerance(a) for a in q.answers}
        same = len(tolerances) == 1
        if same:
            cells[w.TOLERANCE] = tolerances.pop()
        options = [(a.text if same else f"{a.text}±{_tolerance(a)}", a.feedback) for a in q.answers]
        cells[w.RIGHT] = w.right_letters(q)
        if q.other_feedback:
            options.append((OTHER, q.other_feedback))
        return options, []
