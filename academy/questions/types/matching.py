"""Matching: each left-hand item gets one of the right-hand answers. A pair with an empty left
side is an extra wrong answer (Moodle's distractor): offered for every item, the right answer
of none."""

from __future__ import annotations

from academy.questions import rules
from academy.questions.interchange import php_trim
from academy.questions.types.base import (
    Presentation,
    QuestionType,
    ResponseError,
    is_text,
    question_type,
)

MIN_PAIRS = 3


def items(pairs) -> list:
    """The pairs a candidate answers (a left side), without the distractors."""
    return [p for p in pairs if p[0]]


def matching_options(data: dict) -> list[str]:
    """The right-hand choices offered for every left-hand item (distractors included):
    unique, sorted (stable)."""
    return sorted({right for _, right in data["pairs"]})


@question_type("matching")
class Matching(QuestionType):
    label = "配对题"
    help = "左右两列连线配对，至少 3 组；可加只有右边的干扰项。"
    rows, blank_rows = "pairs", 5
    bank_keys = frozenset({"pairs"})
    gift_order = 40
    xml_names = ("matching", "match")
    excel_labels = {"配对": {}}

    @classmethod
    def check(cls, data, response):
        options = matching_options(data)
        if (
            not isinstance(response, list)
            or len(response) != len(items(data["pairs"]))
            or any(r is not None and r not in options for r in response)
        ):
            raise ResponseError("配对答案不正确")
        return response

    @classmethod
    def from_form(cls, data, form, name):
        n = len(items(data["pairs"]))
        chosen = [form.get(f"{name}-{k}", "") or None for k in range(n)]
        return chosen if any(chosen) else None

    @classmethod
    def grade(cls, data, response):
        return rules.grade_matching([right for _, right in items(data["pairs"])], response)

    @classmethod
    def incomplete(cls, response):
        if isinstance(response, list) and any(r is None for r in response):
            return "还有没配对的项，请每一项都选好再提交。"
        return None

    @classmethod
    def demo_fields(cls, data, name, right, rng):
        wanted = [r for _, r in items(data["pairs"])]
        given = wanted
        if not right:
            options = matching_options(data)
            given = [rng.choice(options) for _ in wanted]
            if given == wanted:
                given = given[::-1]
        return {f"{name}-{k}": [r] for k, r in enumerate(given)}

    @classmethod
    def problems(cls, q, add):
        real = items(q.pairs)
        if len(real) < MIN_PAIRS:
            add("pairs", f"配对题至少需要 {MIN_PAIRS} 组配对（现有 {len(real)} 组）")
        if any(not php_trim(right) for _, right in q.pairs) or any(
            not php_trim(left) and left for left, _ in q.pairs
        ):
            add("pairs", "配对题每组的右边都不能为空（左边留空的是干扰项）")
        lefts = [left for left, _ in real]
        if len(set(lefts)) != len(lefts):
            add("pairs", "配对题左边的题目不能重复")

    @classmethod
    def summary(cls, q):
        return "；".join(f"{left or '（干扰项）'} → {right}" for left, right in q.pairs)

    @classmethod
    def presentation(cls, data, key, shuffle_answers=True):
        return Presentation(options=matching_options(data))

    @classmethod
    def preview(cls, q, seed):
        return {"matching_options": matching_options({"pairs": q.pairs})}

    @classmethod
    def from_editor(cls, form, q, problems):
        for entry in form.pairs:
            left = php_trim(entry.form.left.data or "")
            right = php_trim(entry.form.right.data or "")
            if left or right:
                q.pairs.append((left, right))

    @classmethod
    def editor_data(cls, q):
        return {"pairs": [{"left": left, "right": right} for left, right in q.pairs]}

    @classmethod
    def bank_read(cls, raw, q, ctx):
        pairs = raw.get("pairs")
        readable = isinstance(pairs, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and is_text(p[1])
            for p in pairs
        )
        stripped = [(p[0].strip(), p[1].strip()) for p in pairs] if readable else []
        lefts = [left for left, _ in items(stripped)]
        if len(lefts) < MIN_PAIRS:
            ctx.add("pairs", '配对题至少需要 3 组 [题, 答] 文本对（干扰项写成 ["", 答]）')
        elif len(set(lefts)) != len(lefts):
            ctx.add("pairs", "配对题左侧的题目不能重复")
        else:
            q.pairs = stripped

    @classmethod
    def bank_dump(cls, q):
        return {"pairs": [[left, right] for left, right in q.pairs]}

    @classmethod
    def gift_claims(cls, answers):
        return bool(answers) and "=" in answers and "->" in answers

    @classmethod
    def gift_read(cls, q, answers, at, reader):
        pieces = reader.lead(reader.pieces(answers, at, "="), "“=”")
        for _, piece, offset in pieces:
            arrow = piece.find("->")
            if arrow == -1:
                reader.problem(offset, f"配对 “{reader.unescape(php_trim(piece))}” 缺少 “->”")
                continue
            left = reader.text(piece[:arrow], q.text_format)
            right = php_trim(reader.unescape(piece[arrow + 2 :]))
            if not right:
                reader.problem(offset, "配对的右边不能为空（左边留空的是干扰项）")
            q.pairs.append((left, right))
        real = len(items(q.pairs))
        if real < MIN_PAIRS:
            reader.problem(at, f"配对题至少需要 {MIN_PAIRS} 组配对（现有 {real} 组）")

    @classmethod
    def gift_block(cls, q, w):
        fmt = q.text_format
        lines = "".join(f"\t={w.text(left, fmt)} -> {w.escape(right)}\n" for left, right in q.pairs)
        return w.block("{\n", lines, q)

    @classmethod
    def gift_unsupported(cls, q):
        if any("->" in left for left, _ in q.pairs):
            return ["配对题左边含有 “->”，GIFT 无法表示"]
        return []

    @classmethod
    def xml_read(cls, el, q, x):
        for sub in el.findall("subquestion"):
            left, right = x.text(sub), x.text(sub, "answer")
            if left or right:  # Moodle skips a subquestion with neither
                q.pairs.append((left, right))

    @classmethod
    def xml_body(cls, q, w):
        fmt = q.text_format
        out = "    <shuffleanswers>true</shuffleanswers>\n" + w.combined(fmt)
        for left, right in q.pairs:
            out += f'    <subquestion format="{w.format(fmt)}">\n{w.writetext(left, 3)}'
            out += f"      <answer>\n{w.writetext(right, 4)}      </answer>\n    </subquestion>\n"
        return out

    @classmethod
    def excel_read(cls, row, q, letters):
        row.no_right("配对题")
        for letter, cell, _ in row.options(letters):
            parts = row.ARROW_RE.split(cell, maxsplit=1)
            if len(parts) != 2 or not parts[1]:
                row.problem(
                    row.OPTION + letter,
                    f"配对应写成 “左 -> 右”，如 “户口簿 -> 户籍证明”，而不是 “{cell}”",
                )
            else:
                q.pairs.append((parts[0], parts[1]))

    @classmethod
    def excel_write(cls, q, cells, w):
        problems = []
        if any(w.ARROW_RE.search(left) or w.ARROW_RE.search(right) for left, right in q.pairs):
            problems.append("配对内容含有 -> 或 →，Excel 模板无法表示")
        options = [(f"{left} -> {right}" if left else f"-> {right}", "") for left, right in q.pairs]
        return options, problems

    @classmethod
    def diff_content(cls, old, new, d):
        changes = d.answers(cls.name, old.get("answers", []), new.get("answers", []))
        as_text = [f"{left or '（干扰项）'} → {right}" for left, right in old.get("pairs", [])]
        to_text = [f"{left or '（干扰项）'} → {right}" for left, right in new.get("pairs", [])]
        listed = d.list_change(as_text, to_text)
        return changes + ([d.Change("pairs", "配对", "；".join(listed))] if listed else [])
