"""Ordering (qtype_ordering, standard in Moodle 4.4+): put the steps in the right order."""

from __future__ import annotations

from academy.learning.rules import display_order
from academy.questions import rules
from academy.questions.interchange import php_trim
from academy.questions.types.base import (
    Presentation,
    QuestionType,
    ResponseError,
    is_text,
    question_type,
    shuffled,
)
from academy.questions.types.choice import int_list

MIN_ITEMS = 3
GIFT_WORDS = {
    "ALL", "EXACT", "RANDOM", "REL", "CONTIGUOUS", "CONTIG",
    "HORIZONTAL", "HORI", "H", "1", "VERTICAL", "VERT", "V", "0",
    "ALL_OR_NOTHING", "ABSOLUTE_POSITION", "ABSOLUTE", "ABS", "RELATIVE",
    "RELATIVE_NEXT_EXCLUDE_LAST", "RELATIVE_NEXT_INCLUDE_LAST",
    "RELATIVE_ONE_PREVIOUS_AND_NEXT", "RELATIVE_ALL_PREVIOUS_AND_NEXT",
    "RELATIVE_TO_CORRECT", "LONGEST_ORDERED_SUBSET", "LONGEST_CONTIGUOUS_SUBSET",
    "SHOW", "TRUE", "YES", "HIDE", "FALSE", "NO",
}  # fmt: skip
GIFT_HEADER = "ALL VERTICAL ABSOLUTE_POSITION SHOW"  # the academy shows all, in place


@question_type("ordering")
class Ordering(QuestionType):
    label = "排序题"
    help = "把步骤排成正确顺序，至少 3 步。"
    rows, blank_rows = "steps", 6
    bank_keys = frozenset({"order"})
    gift_order = -10  # a plugin type in Moodle: tried first, on the whole block
    xml_names = ("ordering",)
    excel_labels = {"排序": {}}

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
        order = int_list(response, n)
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

    @classmethod
    def incomplete(cls, response):
        return "请给每一项选一个序号，每个序号只用一次。" if isinstance(response, dict) else None

    @classmethod
    def demo_fields(cls, data, name, right, rng):
        n = len(data["order"])
        steps = list(range(1, n + 1)) if right else list(range(n, 0, -1))
        return {f"{name}-{k}": [str(p)] for k, p in enumerate(steps)}

    @classmethod
    def problems(cls, q, add):
        if len(q.order) < MIN_ITEMS:
            add("order", f"排序题至少需要 {MIN_ITEMS} 项（现有 {len(q.order)} 项）")
        if any(not php_trim(item) for item in q.order):
            add("order", "排序题的项目不能为空")
        if len(set(q.order)) != len(q.order):
            add("order", "排序题的项目不能重复")

    @classmethod
    def summary(cls, q):
        return " → ".join(q.order)

    @classmethod
    def presentation(cls, data, key, shuffle_answers=True):
        return Presentation(item_order=shuffled(len(data["order"]), key))

    @classmethod
    def preview(cls, q, seed):
        return {"order": display_order(len(q.order), seed)}

    @classmethod
    def from_editor(cls, form, q, problems):
        q.order = [php_trim(s.data) for s in form.steps if php_trim(s.data or "")]

    @classmethod
    def editor_data(cls, q):
        return {"steps": list(q.order)}

    @classmethod
    def bank_read(cls, raw, q, ctx):
        order = raw.get("order")
        if not isinstance(order, list) or len(order) < MIN_ITEMS or not all(map(is_text, order)):
            ctx.add("order", "排序题至少需要 3 个步骤文本（按正确顺序列出）")
        elif len(set(order)) != len(order):
            ctx.add("order", "排序题的步骤不能重复")
        else:
            q.order = [x.strip() for x in order]

    @classmethod
    def bank_dump(cls, q):
        return {"order": list(q.order)}

    @classmethod
    def gift_claims(cls, answers):
        return bool(answers) and answers.startswith(">")

    @classmethod
    def gift_read(cls, q, answers, at, reader):
        # {>N ALL VERTICAL ABSOLUTE_POSITION SHOW, then one item per line in the right
        # order; items are taken as written (no unescaping), as qtype_ordering does.
        header, _, rest = answers[1:].partition("\n")
        for token in reader.raw(header).split():
            if not token.isdigit() and token not in GIFT_WORDS:
                reader.problem(at, f"排序题设置 “{token}” 无法识别（如 {{>4 {GIFT_HEADER}）")
        q.order = [php_trim(reader.raw(line)) for line in rest.split("\n") if php_trim(line)]
        if len(q.order) < MIN_ITEMS:
            reader.problem(at, f"排序题至少需要 3 项，每行一项（现有 {len(q.order)} 项）")

    @classmethod
    def gift_block(cls, q, w):
        items = "".join(item + "\n" for item in q.order)
        return "{>" + f"{len(q.order)} {GIFT_HEADER}\n" + items + "}"

    @classmethod
    def gift_unsupported(cls, q):
        reasons = []
        if q.general_feedback:
            reasons.append("GIFT 无法表示排序题的总体反馈")
        for item in q.order:
            if any(ch in item for ch in "{}\n\r") or item.startswith("//"):
                reasons.append(f"排序项 “{item}” 含有花括号、换行或以 // 开头，GIFT 无法表示")
        return reasons

    @classmethod
    def xml_read(cls, el, q, x):
        q.order = [x.text(a) for a in el.findall("answer")]  # in file order, as Moodle saves

    @classmethod
    def xml_body(cls, q, w):
        fmt = q.text_format
        out = "    <layouttype>VERTICAL</layouttype>\n    <selecttype>ALL</selecttype>\n"
        out += f"    <selectcount>{len(q.order)}</selectcount>\n"
        out += "    <gradingtype>ABSOLUTE_POSITION</gradingtype>\n"
        out += "    <showgrading>SHOW</showgrading>\n" + w.combined(fmt)
        for position, item in enumerate(q.order, 1):
            out += f'    <answer fraction="{position}" format="{w.format(fmt)}">\n'
            out += w.writetext(item, 3) + "    </answer>\n"
        return out

    @classmethod
    def excel_read(cls, row, q, letters):
        row.no_right("排序题（选项按正确顺序填写）")
        q.order = [cell for _, cell, _ in row.options(letters)]

    @classmethod
    def excel_write(cls, q, cells, w):
        return [(item, "") for item in q.order], []

    @classmethod
    def diff_content(cls, old, new, d):
        changes = d.answers(cls.name, old.get("answers", []), new.get("answers", []))
        order = d.list_change(list(old.get("order", [])), list(new.get("order", [])))
        return changes + ([d.Change("order", "排序步骤", "；".join(order))] if order else [])
