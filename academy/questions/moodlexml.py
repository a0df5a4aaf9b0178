"""Moodle XML import and export, read and written the way Moodle's qformat_xml does
(question/format/xml/format.php in moodle/moodle; ordering as qtype_ordering writes it,
question/type/ordering/questiontype.php ``export_to_xml`` / ``import_from_xml``).

- ``<quiz>`` holds ``<question type="…">`` elements, read in order. Types: multichoice
  (``<single>``, default true; ``<answernumbering>`` and ``<shuffleanswers>`` are read
  and not kept), truefalse (answers ``true``/``false``; older files with localised texts
  are read true-then-false, as Moodle does), shortanswer (``<usecase>`` is read and not
  kept: the academy always ignores case), numerical (``<tolerance>``; an answer ``*`` is
  feedback for any other answer → ``Question.other_feedback``; units are ignored),
  matching (also ``match``; ``<subquestion>`` with ``<answer>``), essay (``<graderinfo>``
  → ``grader_info``), description, ordering (items in file order, as Moodle saves them)
  and the category pseudo-question ``<question type="category">``, whose path (without the
  ``$course$/`` prefix) applies to the questions that follow.
- Every text is trimmed, as Moodle's ``getpath(…, true)`` trims. The ``format``
  attribute of ``<questiontext>`` sets ``Question.text_format``: moodle_auto_format →
  moodle, html, plain_text → plain, markdown; wiki_like → plain; anything else → html
  (Moodle's own fallback). Answer fractions are percentages (``fraction="50"``).
- The academy's tags travel as Moodle question tags (``<tags><tag><text>…``):
  ``item:<slug>``, ``dimension:<knowledge|etiquette|emergency>``, ``difficulty:<1-3>``;
  other tags are ignored.

All-or-nothing: every problem is reported with the line of its ``<question>``. Question
types the academy does not have — cloze (multianswer), calculated, random,
drag-and-drop … — are skipped by ``parse_skipping`` (each named with its position, line
and why; the import preview lists them) and are problems for the strict ``parse``. Each
type's class reads and writes its own elements (``xml_read``/``xml_body``); matching
subquestions with an empty text are distractors, as in Moodle.

Parsing is safe: a DOCTYPE or any entity declaration is refused before anything is expanded
(no external entities, no "billion laughs"); only the five predefined XML entities and
character references are read.

Export writes what Moodle writes (CDATA where the text needs it, ``]]>`` split). GIFT and
Moodle XML share one limitation: they cannot return to "no category", so a question
without a category that follows one with a category is read back in that category.
Questions that fail ``check_question`` or hold characters XML 1.0 cannot carry raise
:class:`~academy.questions.spec.ExportError`.
"""

from __future__ import annotations

import codecs
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from xml.parsers import expat

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
from academy.questions.spec import Answer, ExportError, ParseError, Question, Skipped
from academy.questions.types import QUESTION_TYPES, check_question

FORMAT_IN = {
    "moodle_auto_format": "moodle",
    "html": "html",
    "plain_text": "plain",
    "markdown": "markdown",
    "wiki_like": "plain",
}
FORMAT_OUT = {"moodle": "moodle_auto_format", "html": "html", "plain": "plain_text"}
FORMAT_OUT["markdown"] = "markdown"
TAG_KEYS = ("item", "dimension", "difficulty")
NATIVE_ENCODINGS = {"utf-8", "utf-16", "iso8859-1", "ascii"}
DECLARED_RE = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
INVALID_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _Refused(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _tree(data: str | bytes) -> tuple[ET.Element, dict[ET.Element, int]]:
    """Parse with expat, refusing any DTD; return the root and each element's line."""
    encoding = None
    if isinstance(data, str):
        data, encoding = data.removeprefix("\ufeff").encode("utf-8"), "UTF-8"
    else:
        declared = DECLARED_RE.match(data)
        if declared:
            try:
                name = codecs.lookup(declared.group(1).decode("ascii")).name
            except LookupError:
                name = "utf-8"
            if name not in NATIVE_ENCODINGS:  # e.g. GBK: expat does not know it
                try:
                    text = data.decode(name)
                except UnicodeDecodeError as err:
                    line = data[: err.start].count(b"\n") + 1
                    raise ParseError(
                        [(line, f"文件声明的编码是 {declared.group(1).decode()}，但此行内容不符")]
                    ) from None
                data, encoding = text.encode("utf-8"), "UTF-8"
    parser = expat.ParserCreate(encoding)
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}

    def start(tag, attrs):
        lines[builder.start(tag, attrs)] = parser.CurrentLineNumber

    def refuse(*_args):
        raise _Refused(parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.Parse(data, True)
    return builder.close(), lines


def _text(el: ET.Element | None, path: str = "") -> str:
    node = el.find(f"{path}/text" if path else "text") if el is not None else None
    return php_trim(node.text or "") if node is not None else ""


def _format(el: ET.Element | None) -> str:
    if el is None:
        return "html"
    return FORMAT_IN.get(php_trim(el.get("format", "html")), "html")


def parse(data: str | bytes) -> list[Question]:
    """Every question of a Moodle XML file; raise ParseError with all problems (a question
    of a type the academy does not have is one of them)."""
    questions, skipped = parse_skipping(data)
    if skipped:
        raise ParseError([(s.line, f"第 {s.position} 题：{s.reason}") for s in skipped])
    return questions


def parse_skipping(data: str | bytes) -> tuple[list[Question], list[Skipped]]:
    """The questions of a Moodle XML file and those of types the academy does not have
    (cloze, calculated, random …), skipped with the reason; raise ParseError with every
    problem of the others (or when no question is left)."""
    try:
        root, lines = _tree(data)
    except _Refused as refused:
        raise ParseError(
            [(refused.line, "XML 文件含有 DOCTYPE 或实体声明，出于安全原因不予导入")]
        ) from None
    except expat.ExpatError as err:
        message = expat.errors.messages.get(err.code, str(err))
        raise ParseError(
            [(err.lineno, f"XML 格式不正确（第 {err.offset + 1} 列）：{message}")]
        ) from None
    if root.tag != "quiz":
        raise ParseError(
            [(lines.get(root, 1), f"根元素应为 <quiz>（Moodle XML），而不是 <{root.tag}>")]
        )
    by_name = {alias: kind for kind in QUESTION_TYPES.values() for alias in kind.xml_names}
    problems: list[tuple[int | None, str]] = []
    questions: list[Question] = []
    skipped: list[Skipped] = []
    category: str | None = None
    for position, el in enumerate(root.findall("question"), 1):
        line = lines[el]
        name = php_trim(el.get("type", ""))
        if name == "category":
            category = category_from_moodle(_text(el, "category"))
            continue
        kind = by_name.get(name)
        if kind is None:
            skipped.append(_skipped(el, name, position, line, by_name))
            continue
        reader = Reader()
        question = _question(el, kind, reader)
        question.line, question.category = line, category
        reasons = reader.reasons + check_question(question)
        problems.extend((line, f"第 {position} 题：{reason}") for reason in reasons)
        questions.append(question)
    if not questions and not problems:
        problems += [(s.line, f"第 {s.position} 题：{s.reason}") for s in skipped]
        reason = "文件中没有可导入的题目" if skipped else "文件中没有题目"
        problems.append((lines[root], reason))
    if problems:
        raise ParseError(problems)
    return questions, skipped


UNSUPPORTED = {
    "multianswer": "完形填空（Cloze）",
    "calculated": "计算题",
    "calculatedsimple": "简单计算题",
    "calculatedmulti": "计算选择题",
    "random": "随机抽题（只是抽题规则，没有题目内容）",
    "randomsamatch": "随机填空配对",
    "ddwtos": "拖放到文本",
    "ddimageortext": "拖放到图片",
    "ddmarker": "拖放标记",
    "gapselect": "下拉选词填空",
}


def _skipped(el, name: str, position: int, line: int, by_name) -> Skipped:
    what = (
        f"“{name}”（{UNSUPPORTED[name]}）"
        if name in UNSUPPORTED
        else f"“{name or '（缺少 type）'}”"
    )
    supported = "、".join(QUESTION_TYPES)
    return Skipped(
        position=position,
        line=line,
        name=php_trim(strip_tags(_text(el, "name")))
        or default_name(_text(el.find("questiontext"))),
        qtype=name,
        reason=f"不支持的题型 {what}：本系统没有这种题型，跳过；可导入：{supported}",
    )


class Reader:
    """The toolkit of a type's ``xml_read``: texts as Moodle reads them, fractions, and
    ``reasons`` for what is wrong."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    @staticmethod
    def text(el: ET.Element | None, path: str = "") -> str:
        return _text(el, path)

    def fraction(self, raw: str | None) -> float:
        return _fraction(raw, self.reasons)


def _fraction(raw: str | None, reasons: list[str]) -> float:
    value = parse_number(raw or "0")
    if value is None:
        reasons.append(f"得分 fraction=“{raw}” 不是数字")
        return 0.0
    return fraction_of(value)


def _question(el: ET.Element, kind, reader: Reader) -> Question:
    text_el = el.find("questiontext")
    text = _text(text_el)
    q = Question(
        type=kind.name,
        name=php_trim(strip_tags(_text(el, "name"))) or default_name(text),
        text=text,
        text_format=_format(text_el),
        general_feedback=_text(el, "generalfeedback"),
    )
    tags = {}
    for tag in el.findall("tags/tag"):
        key, sep, value = _text(tag).partition(":")
        if sep and key in TAG_KEYS:
            tags[key] = value
    reader.reasons += apply_tags(q, tags)
    kind.xml_read(el, q, reader)
    return q


# -- export -----------------------------------------------------------------------------


def xml_escape(text: str) -> str:
    """Moodle's xml_escape: CDATA when htmlspecialchars would change the text."""
    if text and html.escape(text) != text:
        return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    return text


def _writetext(text: str, indent: int) -> str:
    return f"{'  ' * indent}<text>{xml_escape(text)}</text>\n"


def _field(tag: str, text: str, fmt: str, indent: int = 2) -> str:
    pad = "  " * indent
    return f'{pad}<{tag} format="{FORMAT_OUT[fmt]}">\n{_writetext(text, indent + 1)}{pad}</{tag}>\n'


def _answer(a: Answer, fmt: str, extra: str = "") -> str:
    out = f'    <answer fraction="{percent_text(a.fraction)}" format="{FORMAT_OUT[fmt]}">\n'
    out += _writetext(a.text, 3)
    out += _field("feedback", a.feedback, fmt, 3)
    return out + extra + "    </answer>\n"


def _combined(fmt: str) -> str:
    return "".join(
        _field(name, "", fmt)
        for name in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback")
    )


class Writer:
    """The toolkit of a type's ``xml_body``: elements as Moodle writes them."""

    writetext = staticmethod(_writetext)
    field = staticmethod(_field)
    answer = staticmethod(_answer)
    combined = staticmethod(_combined)

    @staticmethod
    def answers(answers, fmt: str) -> str:
        return "".join(_answer(a, fmt) for a in answers)

    @staticmethod
    def format(fmt: str) -> str:
        """The ``format`` attribute value of a text format."""
        return FORMAT_OUT[fmt]


def export_question(q: Question) -> str:
    qtype = q.type
    out = f'  <question type="{qtype}">\n'
    out += f"    <name>\n{_writetext(q.name, 3)}    </name>\n"
    out += _field("questiontext", q.text, q.text_format)
    out += _field("generalfeedback", q.general_feedback, q.text_format)
    out += f"    <defaultgrade>{1 if QUESTION_TYPES[qtype].scored else 0}</defaultgrade>\n"
    out += "    <penalty>0.3333333</penalty>\n    <hidden>0</hidden>\n    <idnumber></idnumber>\n"
    out += QUESTION_TYPES[qtype].xml_body(q, Writer)
    tags = tags_of(q)
    if tags:
        out += "    <tags>\n"
        out += "".join(
            f"      <tag>{_writetext(f'{k}:{v}', 0).strip()}</tag>\n" for k, v in tags.items()
        )
        out += "    </tags>\n"
    return out + "  </question>\n"


def _strings(q: Question) -> list[str]:
    texts = [q.name, q.text, q.general_feedback, q.grader_info, q.other_feedback, q.category or ""]
    texts += [a.text + a.feedback for a in q.answers] + list(q.order)
    texts += [left + right for left, right in q.pairs]
    return texts


def export(questions: Iterable[Question]) -> str:
    """Moodle XML for the questions; raise ExportError listing every question it cannot carry."""
    problems: list[tuple[int, str]] = []
    chunks = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']
    category: str | None = None
    for position, q in enumerate(questions, 1):
        reasons = check_question(q)
        if any(INVALID_XML_RE.search(text) for text in _strings(q)):
            reasons.append("含有 XML 不能表示的控制字符")
        if reasons:
            problems.extend((position, f"“{q.name}”：{reason}") for reason in reasons)
            continue
        if q.category and q.category != category:
            category = q.category
            chunks.append(
                '  <question type="category">\n    <category>\n'
                f"{_writetext(category_to_moodle(category), 3)}    </category>\n"
                '    <info format="moodle_auto_format">\n      <text></text>\n    </info>\n'
                "  </question>\n\n"
            )
        chunks.append(export_question(q) + "\n")
    if problems:
        raise ExportError(problems)
    return "".join(chunks) + "</quiz>\n"
