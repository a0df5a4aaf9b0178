"""GIFT import and export, read the way Moodle's qformat_gift reads it
(question/format/gift/format.php in moodle/moodle; default names from
question/format.php, ``create_default_question_name``).

Matched from Moodle:

- Questions are separated by blank lines; every line is trimmed; lines starting with
  ``//`` are comments (``// [tag:…]`` and ``// [id:…]`` are ignored here). A UTF-8 BOM,
  Windows (CRLF) and old Mac (CR) line endings are accepted.
- ``$CATEGORY: path`` sets the category of the questions that follow; the ``$course$/``
  prefix Moodle writes is dropped (``$course$/top/证明证照`` → ``top/证明证照``).
- ``::title::`` names the question; without one the name is Moodle's default: the question
  text shortened to 80 characters (77 + "..."; in CJK text it is cut anywhere).
- ``[html]``, ``[markdown]``, ``[plain]``, ``[moodle]`` before a text set its format; the
  question text sets ``Question.text_format`` (default ``moodle``), the format of answers
  and feedback is read and dropped (they are stored as text).
- Escapes ``\\~ \\= \\# \\{ \\} \\:`` give the character, ``\\n`` a new line, ``\\\\`` a
  backslash; any other backslash is kept as written.
- Each type's class reads and writes its own answer block (``gift_claims``/``gift_read``/
  ``gift_block`` in ``academy.questions.types``); this module is the file around them.
- The type comes from the answer block exactly as Moodle decides it: none → description;
  empty → essay; starts with ``#`` → numerical; contains ``~`` → multiple choice (single
  if it contains ``=``, else multiple answers); ``=`` and ``->`` → matching; ``T``,
  ``TRUE``, ``F``, ``FALSE`` (case matters) → true/false; anything else → short answer.
- Weights ``%50%`` / ``%-100%`` after ``~`` (choice) or ``=`` (short answer, numerical);
  ``=`` in a choice is 100 %; per-answer feedback after ``#``; general feedback after the
  last ``####``. True/false: ``{T#shown if wrong#shown if right}``.
- Numerical: ``{#60}``, ``{#60:2}`` (tolerance), ``{#50..70}`` (→ 60 ± 10, the midpoint
  and half the range as Moodle stores it), several answers ``{#=60 =%50%55:5}``, and
  ``~#feedback`` for any other answer (Moodle's ``*`` answer → ``Question.other_feedback``).
- Missing word: when the answer block is not at the end, the text gets ``_____`` in its
  place (``text before _____ text after``); the type follows the answers as above.
- Ordering: the ``{>N ALL VERTICAL ABSOLUTE_POSITION SHOW`` form of qtype_ordering
  (question/type/ordering/questiontype.php, ``import_from_gift``; standard in Moodle 4.4+):
  one item per line in the right order; items are taken as written (no unescaping),
  as the plugin does.
- Export writes what Moodle's ``writequestion`` writes (``::name::``, ``{TRUE#…#…}``,
  ``=``/``~``/``~%50%`` answers on their own lines, ``####`` general feedback), escaping
  special characters with ``\\`` and new lines as ``\\n``.

Stricter than Moodle (all-or-nothing, every problem reported with its line):

- text before the first ``=``/``~`` of a block ("unknown answer prefix"; Moodle would
  make it an answer), a ``%…%`` weight that is not a number, two answer blocks, ``{`` or
  ``}`` without its partner, a ``::title`` without closing ``::``;
- a numerical answer that is not a number (Moodle silently turns it into ``*``, any
  answer), a negative tolerance or a range whose lower end is above the upper end;
- matching needs at least 3 pairs with a left side (Moodle: 2) and no empty right side
  (``= -> 右``, an empty left side, is a distractor, as in Moodle), plus the checks of
  ``types.check_question`` (a single-choice question needs a 100 % answer, …);
- a numerical ``*`` answer with marks (``=*`` or ``=%50%*``: Moodle would give any number
  those marks; here ``*`` only carries feedback: ``~#…`` or ``=%0%*#…``).
- A ``$CATEGORY:`` line directly followed by a question (no blank line) is read as the
  category line plus the question; Moodle would swallow the question into the path.

The academy's tags travel in comments Moodle ignores, placed just before a question
(in its block or in a comment-only block before it)::

    // academy: item=id-card-renewal-home-service dimension=knowledge difficulty=2
    // academy-grader: 评分要点（essay grader info; GIFT escapes, \\n for new lines）

``dimension`` is one of knowledge / etiquette / emergency (业务知识 / 服务规范 / 应急处置
are accepted too); ``difficulty`` 1–3. All are optional.

Export decisions: every question is checked first. What GIFT cannot carry raises
:class:`~academy.questions.spec.ExportError` listing each such question (position, name,
why), unless ``skip_unsupported=True``, which writes it as a ``// 未导出…`` comment
instead. Not representable: general feedback of a description or an ordering question,
``->`` in a matching question's left side or anywhere in a short answer's answers or
feedback (Moodle would read it as matching), ordering items with ``{``, ``}``, a new line
or a leading ``//``, a category with a new line. GIFT cannot return to "no category":
a question without a category written after one with a category is read back in that
category (banks share one category, so this does not arise in practice).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from academy.questions.interchange import (
    apply_tags,
    category_from_moodle,
    category_to_moodle,
    default_name,
    fraction_of,
    parse_number,
    percent_text,
    php_trim,
    strip_tags,
    tags_of,
)
from academy.questions.spec import FORMATS, ExportError, ParseError, Question
from academy.questions.types import QUESTION_TYPES, check_question

# Escaped characters become two noncharacters (U+FDD0 + code): offsets stay the same,
# so every problem can still name its line.
MARK = "\ufdd0"
CODES = {":": "\ufdd1", "#": "\ufdd2", "=": "\ufdd3", "{": "\ufdd4", "}": "\ufdd5"}
CODES |= {"~": "\ufdd6", "n": "\ufdd7", "\\": "\ufdd8"}
VALUES = {code: ("\n" if ch == "n" else ch) for ch, code in CODES.items()}
RAW = {code: "\\" + ch for ch, code in CODES.items()}
ESCAPE_RE = re.compile(r"\\([:#={}~n\\])")
NONCHAR_RE = re.compile("[\ufdd0-\ufdef]")
WEIGHT_RE = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
ACADEMY = "// academy:"
GRADER = "// academy-grader:"


def _protect(text: str) -> str:
    return ESCAPE_RE.sub(lambda m: MARK + CODES[m.group(1)], text)


def _unescape(text: str) -> str:
    text = text.replace(MARK, "")
    return "".join(VALUES.get(ch, ch) for ch in text)


def _raw(text: str) -> str:
    text = text.replace(MARK, "")
    return "".join(RAW.get(ch, ch) for ch in text)


def _decode(data: str | bytes) -> tuple[str | None, list[tuple[int | None, str]]]:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            return None, [
                (
                    line,
                    "文件不是 UTF-8 编码（此行有无法识别的字节，可能是 GBK）。"
                    "请用记事本“另存为”，编码选 UTF-8 后再导入",
                )
            ]
    else:
        text = data.removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return NONCHAR_RE.sub("", text), []


def parse(data: str | bytes) -> list[Question]:
    """Every question of a GIFT file; raise ParseError with all problems (line, reason)."""
    text, problems = _decode(data)
    if text is None:
        raise ParseError(problems)
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, raw in enumerate(text.split("\n"), 1):
        line = php_trim(raw)
        if line:
            blocks[-1].append((number, line))
        elif blocks[-1]:
            blocks.append([])
    questions: list[Question] = []
    category: str | None = None
    pending: dict = {"tags": {}, "grader": None, "line": None}
    for block in blocks:
        content = []
        for number, line in block:
            if line.startswith(ACADEMY):
                _read_tags(line[len(ACADEMY) :], number, pending, problems)
            elif line.startswith(GRADER):
                pending["grader"] = php_trim(_unescape(_protect(line[len(GRADER) :])))
                pending["line"] = pending["line"] or number
            elif not line.startswith("//"):
                content.append((number, line))
        if content and content[0][1].startswith("$CATEGORY:"):
            number, line = content.pop(0)
            category = category_from_moodle(line[len("$CATEGORY:") :])
            if category is None:
                problems.append((number, "$CATEGORY: 后面缺少类别路径"))
        if not content:
            continue
        question = _QuestionReader(content, problems).read()
        if question is None:
            pending = {"tags": {}, "grader": None, "line": None}
            continue
        question.category = category
        for reason in apply_tags(question, pending["tags"]):
            problems.append((pending["line"], reason))
        if pending["grader"] is not None:
            if question.type == "essay":
                question.grader_info = pending["grader"]
            else:
                problems.append((pending["line"], "academy-grader（评分要点）只能用于简答题 {}"))
        pending = {"tags": {}, "grader": None, "line": None}
        for reason in check_question(question):
            problems.append((question.line, reason))
        questions.append(question)
    if not questions and not problems:
        problems.append((1, "文件中没有题目"))
    if problems:
        raise ParseError(sorted(problems, key=lambda p: p[0] or 0))
    return questions


def _read_tags(rest: str, number: int, pending: dict, problems: list) -> None:
    pending["line"] = pending["line"] or number
    for token in rest.split():
        key, sep, value = token.partition("=")
        if not sep or not value:
            problems.append((number, f"academy 标注 “{token}” 应写成 键=值，如 difficulty=2"))
        else:
            pending["tags"][key] = value


class _QuestionReader:
    """One question block (comments removed) → a Question, or problems."""

    def __init__(self, content: list[tuple[int, str]], problems: list) -> None:
        self.numbers = [number for number, _ in content]
        self.starts = []
        offset = 0
        for _, line in content:
            self.starts.append(offset)
            offset += len(line) + 1
        self.source = _protect("\n".join(line for _, line in content))
        self.problems = problems
        self.failed = False

    def line(self, offset: int) -> int:
        return self.numbers[max(0, bisect.bisect_right(self.starts, offset) - 1)]

    def problem(self, offset: int, reason: str) -> None:
        self.problems.append((self.line(offset), reason))
        self.failed = True

    def read(self) -> Question | None:
        text, base, name = self.source, 0, None
        if text.startswith("::"):
            end = text.find("::", 2)
            if end == -1:
                self.problem(0, "题目名称缺少结尾的 “::”（名称中的冒号请写成 \\:）")
                return None
            name = php_trim(strip_tags(_unescape(text[2:end]))) or None
            base = end + 2
            while base < len(text) and text[base] in " \t\n":
                base += 1
        body = text[base:]
        start, finish = body.find("{"), body.find("}")
        if start == -1 and finish == -1:
            text_value, fmt = _with_format(body, "moodle")
            return self._claim(name, text_value, fmt, base, None, base)
        if start == -1:
            self.problem(base + finish, "有 “}” 却没有 “{”（题干中的花括号请写成 \\{ \\}）")
        elif finish == -1:
            self.problem(base + start, "答案块的 “{” 没有对应的 “}”")
        elif finish < start:
            self.problem(base + finish, "“}” 出现在 “{” 之前（题干中的花括号请写成 \\{ \\}）")
        else:
            nested = body.find("{", start + 1)
            if nested != -1 and nested < finish:
                self.problem(base + start, "答案块的 “{” 没有对应的 “}”")
            else:
                extra = min((i for i in (body.find("{", finish), body.find("}", finish + 1))
                             if i != -1), default=-1)  # fmt: skip
                if extra != -1:
                    self.problem(
                        base + extra,
                        "一道题只能有一个答案块 {…}（题干中的花括号请写成 \\{ \\}）",
                    )
        if self.failed:
            return None
        if body.endswith("}"):
            question_text = body[:start] + body[finish + 1 :]
        else:
            question_text = body[:start] + "_____" + body[finish + 1 :]
        inner = body[start + 1 : finish]
        lead = len(inner) - len(inner.lstrip(" \t\n"))
        answers_at = base + start + 1 + lead
        answer_text = php_trim(inner)
        text_value, fmt = _with_format(question_text, "moodle")
        claimed = self._claim(name, text_value, fmt, base, answer_text, answers_at, first=True)
        if claimed is not None or self.failed:
            return claimed
        general = ""
        separator = answer_text.rfind("####")
        if separator != -1:
            general = _with_format(answer_text[separator + 4 :], fmt)[0]
            answer_text = php_trim(answer_text[:separator])
        question = self._claim(
            name, text_value, fmt, base, answer_text, answers_at, general=general
        )
        return None if question is None or self.failed else question

    def _claim(self, name, text, fmt, base, answers, at, first=False, general=""):
        """The question of the first type (in ``gift_order``) that claims the block. Types
        with a negative order (Moodle's plugin types, e.g. ordering) see the block before
        the general feedback is split off, as Moodle's ``try_importing_using_qtypes``."""
        for kind in sorted(QUESTION_TYPES.values(), key=lambda k: k.gift_order):
            if (kind.gift_order < 0) != first or not kind.gift_claims(answers):
                continue
            question = self._finish(name, text, fmt, kind.name, base)
            question.general_feedback = general
            if answers is not None:
                kind.gift_read(question, answers, at, self)
            return None if self.failed else question
        if not first:
            self.problem(at, "无法识别答案块的题型")
        return None

    def _finish(self, name, text, fmt, kind, _base) -> Question:
        return Question(
            type=kind,
            name=name or default_name(text),
            text=text,
            text_format=fmt,
            line=self.numbers[0],
        )

    # -- answer blocks -------------------------------------------------------------

    # -- the toolkit of a type's gift_read ------------------------------------------------

    @staticmethod
    def text(piece: str, fmt: str) -> str:
        """A text with its ``[format]`` prefix read and dropped, unescaped and trimmed."""
        return _with_format(piece, fmt)[0]

    @staticmethod
    def comment(piece: str, fmt: str) -> tuple[str, str]:
        """(answer, feedback) of ``answer#feedback``."""
        return _comment(piece, fmt)

    @staticmethod
    def unescape(text: str) -> str:
        return _unescape(text)

    @staticmethod
    def raw(text: str) -> str:
        """The text as written (escapes kept), as qtype_ordering reads its items."""
        return _raw(text)

    def pieces(self, text: str, at: int, seps: str) -> list[tuple[str, str, int]]:
        """Split at each separator: (separator or "", piece, offset of the piece)."""
        out, sep, start = [], "", 0
        for i, ch in enumerate(text):
            if ch in seps:
                out.append((sep, text[start:i], at + start))
                sep, start = ch, i + 1
        out.append((sep, text[start:], at + start))
        return out

    def lead(self, pieces, expected: str) -> list[tuple[str, str, int]]:
        _, piece, at = pieces[0]
        if php_trim(piece):
            self.problem(at, f"答案 “{_unescape(php_trim(piece))}” 前缺少 {expected}")
        return pieces[1:]

    def weight(self, piece: str, at: int, default: float) -> tuple[float, str]:
        if piece.startswith("%"):
            m = WEIGHT_RE.match(piece)
            if m is None:
                self.problem(
                    at, f"得分比例 “{_unescape(piece[:12])}” 不正确，应写成 %50% 或 %-100%"
                )
                return default, piece
            return fraction_of(float(m.group(1))), piece[m.end() :]
        return default, piece

    def number(self, value: str, at: int) -> tuple[float, float] | None:
        if value.find("..") > 0:
            low_text, high_text = value.split("..", 1)
            low, high = parse_number(low_text), parse_number(high_text)
            if low is None or high is None:
                self.problem(at, f"数值范围 “{value}” 应写成 下限..上限，如 50..70")
                return None
            if low > high:
                self.problem(at, f"数值范围 “{value}” 的下限大于上限")
                return None
            middle = (low + high) / 2
            return middle, high - middle
        tolerance = 0.0
        if value.find(":") > 0:
            value, tolerance_text = value.split(":", 1)
            parsed = parse_number(tolerance_text)
            if parsed is None:
                self.problem(at, f"误差 “{php_trim(tolerance_text)}” 不是数字")
                return None
            if parsed < 0:
                self.problem(at, f"误差 “{php_trim(tolerance_text)}” 不能为负数")
                return None
            tolerance = parsed
        number = parse_number(value)
        if number is None:
            self.problem(at, f"数值题的答案 “{php_trim(value)}” 不是数字")
            return None
        return number, tolerance


def _with_format(text: str, default: str) -> tuple[str, str]:
    """Moodle's parse_text_with_format on protected text: (unescaped text, format)."""
    text = php_trim(text)
    fmt = default
    if text.startswith("["):
        end = text.find("]")
        if end != -1 and text[1:end] in FORMATS:
            fmt, text = text[1:end], text[end + 1 :]
    return php_trim(_unescape(text)), fmt


def _comment(piece: str, fmt: str) -> tuple[str, str]:
    """Moodle's commentparser: answer text and feedback, split at the first ``#``."""
    answer, sep, feedback = php_trim(piece).partition("#")
    return _with_format(answer, fmt)[0], (_with_format(feedback, fmt)[0] if sep else "")


# -- export -----------------------------------------------------------------------------


def escape(text: str) -> str:
    """Moodle's repchar: ``\\`` and ``~ = # { } :`` get a backslash, new lines become ``\\n``."""
    text = text.replace("\\", "\\\\")
    for ch in "#=~{}:":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\r", "").replace("\n", "\\n")


def _text(text: str, fmt: str, default: str) -> str:
    """write_questiontext: a ``[format]`` prefix when it differs from the default, or when
    the text itself starts like one (it would otherwise be read as the format)."""
    starts_like_format = any(text.startswith(f"[{name}]") for name in FORMATS)
    prefix = f"[{fmt}]" if text and (fmt != default or starts_like_format) else ""
    return prefix + escape(text)


def _unsupported(q: Question) -> list[str]:
    reasons = QUESTION_TYPES[q.type].gift_unsupported(q)
    if q.category and ("\n" in q.category or "\r" in q.category):
        reasons.append("类别路径含有换行")
    return reasons


class Writer:
    """The toolkit of a type's ``gift_block``: Moodle's way of writing texts and answers."""

    escape = staticmethod(escape)

    @staticmethod
    def text(text: str, fmt: str) -> str:
        """An answer's or a feedback's text in the question's format."""
        return _text(text, fmt, fmt)

    @staticmethod
    def answer(prefix: str, a, fmt: str) -> str:
        """One answer line: ``\t=answer#feedback``."""
        line = prefix + _text(a.text, fmt, fmt)
        if a.feedback:
            line += "#" + _text(a.feedback, fmt, fmt)
        return "\t" + line + "\n"

    @staticmethod
    def weighted(sign: str, fraction: float, text: str, default: float) -> str:
        """``=`` or ``~`` with a ``%50%`` weight unless it is the default one."""
        if fraction == default and not text.startswith("%"):
            return sign
        return f"{sign}%{percent_text(fraction)}%"

    @staticmethod
    def general(q: Question) -> str:
        """``####general feedback`` (empty without one): the last thing before ``}``."""
        fmt = q.text_format
        return f"####{_text(q.general_feedback, fmt, fmt)}" if q.general_feedback else ""

    @classmethod
    def block(cls, opener: str, lines: str, q: Question) -> str:
        """An answer block of one answer per line, general feedback last."""
        general = cls.general(q)
        return opener + lines + (f"\t{general}\n" if general else "") + "}"


def export_question(q: Question) -> str:
    out = ""
    tags = tags_of(q)
    if tags:
        out += ACADEMY + " " + " ".join(f"{k}={v}" for k, v in tags.items()) + "\n"
    if q.type == "essay" and q.grader_info:
        out += f"{GRADER} {escape(q.grader_info)}\n"
    block = QUESTION_TYPES[q.type].gift_block(q, Writer)
    out += f"::{escape(q.name)}::" + _text(q.text, q.text_format, "moodle") + block
    return out + "\n"


def export(questions: Iterable[Question], *, skip_unsupported: bool = False) -> str:
    """GIFT text for the questions (UTF-8 when written). Raise ExportError listing every
    question GIFT cannot carry, or write it as a comment with ``skip_unsupported``."""
    problems: list[tuple[int, str]] = []
    chunks: list[str] = []
    category: str | None = None
    for position, q in enumerate(questions, 1):
        reasons = check_question(q) + _unsupported(q)
        if reasons:
            if skip_unsupported:
                note = "；".join(reasons).replace("\n", " ")
                name = q.name.replace("\n", " ")
                chunks.append(f"// 未导出第 {position} 题 “{name}”（{q.type}）：{note}\n")
            else:
                problems.extend((position, f"“{q.name}”：{reason}") for reason in reasons)
            continue
        if q.category and q.category != category:
            category = q.category
            chunks.append(f"$CATEGORY: {category_to_moodle(category)}\n")
        chunks.append(export_question(q))
    if problems:
        raise ExportError(problems)
    return "\n".join(chunks)
