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

All-or-nothing: every problem is reported with the line of its ``<question>`` (question
types the academy does not have — cloze, calculated, drag-and-drop … — included, naming
the question's position). Parsing is safe: a DOCTYPE or any entity declaration is refused
before anything is expanded (no external entities, no "billion laughs"); only the five
predefined XML entities and character references are read.

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
    check_question,
    default_name,
    fraction_of,
    number_text,
    parse_number,
    percent_text,
    php_trim,
    strip_tags,
    tags_of,
)
from academy.questions.spec import Answer, ExportError, ParseError, Question

FORMAT_IN = {
    "moodle_auto_format": "moodle",
    "html": "html",
    "plain_text": "plain",
    "markdown": "markdown",
    "wiki_like": "plain",
}
FORMAT_OUT = {"moodle": "moodle_auto_format", "html": "html", "plain": "plain_text"}
FORMAT_OUT["markdown"] = "markdown"
TYPE_IN = {"match": "matching"}
SUPPORTED = (
    "multichoice",
    "truefalse",
    "shortanswer",
    "numerical",
    "matching",
    "match",
    "essay",
    "description",
    "ordering",
)
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
    """Every question of a Moodle XML file; raise ParseError with all problems."""
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
    problems: list[tuple[int | None, str]] = []
    questions: list[Question] = []
    category: str | None = None
    for position, el in enumerate(root.findall("question"), 1):
        line = lines[el]
        kind = php_trim(el.get("type", ""))
        if kind == "category":
            category = category_from_moodle(_text(el, "category"))
            continue
        if kind not in SUPPORTED:
            problems.append(
                (
                    line,
                    f"第 {position} 题：不支持的题型 “{kind or '（缺少 type）'}”，"
                    "可导入：multichoice、truefalse、shortanswer、numerical、matching、"
                    "ordering、essay、description",
                )
            )
            continue
        reasons: list[str] = []
        question = _question(el, TYPE_IN.get(kind, kind), reasons)
        question.line, question.category = line, category
        reasons += check_question(question)
        problems.extend((line, f"第 {position} 题：{reason}") for reason in reasons)
        questions.append(question)
    if not questions and not problems:
        problems.append((lines[root], "文件中没有题目"))
    if problems:
        raise ParseError(problems)
    return questions


def _fraction(raw: str | None, reasons: list[str]) -> float:
    value = parse_number(raw or "0")
    if value is None:
        reasons.append(f"得分 fraction=“{raw}” 不是数字")
        return 0.0
    return fraction_of(value)


def _question(el: ET.Element, kind: str, reasons: list[str]) -> Question:
    text_el = el.find("questiontext")
    text = _text(text_el)
    q = Question(
        type=kind,
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
    reasons += apply_tags(q, tags)
    answers = el.findall("answer")
    if kind == "multichoice":
        q.single = php_trim(el.findtext("single", "true")) not in ("false", "", "0")
        q.answers = [
            Answer(_text(a), _fraction(a.get("fraction"), reasons), _text(a, "feedback"))
            for a in answers
        ]
    elif kind == "truefalse":
        truth, feedback = None, {"true": "", "false": ""}
        for index, a in enumerate(answers):
            value = _text(a)
            if value not in ("true", "false"):  # an old file: true first, then false
                value = "true" if index == 0 else "false"
            right = _fraction(a.get("fraction"), reasons) == 1.0
            truth = right if value == "true" else not right
            feedback[value] = _text(a, "feedback")
        if truth is None:
            reasons.append("判断题缺少 true/false 答案")
        else:
            q.answers = [
                Answer("true", 1.0 if truth else 0.0, feedback["true"]),
                Answer("false", 0.0 if truth else 1.0, feedback["false"]),
            ]
    elif kind == "shortanswer":
        q.answers = [
            Answer(_text(a), _fraction(a.get("fraction"), reasons), _text(a, "feedback"))
            for a in answers
        ]
    elif kind == "numerical":
        for a in answers:
            value = _text(a) or "*"
            fraction = _fraction(a.findtext("fraction") or a.get("fraction"), reasons)
            if value == "*":
                q.other_feedback = _text(a, "feedback")
                continue
            number = parse_number(value)
            tolerance_text = php_trim(a.findtext("tolerance") or "0")
            tolerance = parse_number(tolerance_text)
            if number is None:
                reasons.append(f"数值题的答案 “{value}” 不是数字")
            elif tolerance is None or tolerance < 0:
                reasons.append(f"答案 {value} 的误差 “{tolerance_text}” 应为非负数")
            else:
                q.answers.append(
                    Answer(number_text(number), fraction, _text(a, "feedback"), tolerance)
                )
    elif kind == "matching":
        for sub in el.findall("subquestion"):
            left, right = _text(sub), _text(sub, "answer")
            if not left:
                reasons.append(f"配对题的多余干扰答案 “{right}”（左边为空）本系统暂不支持")
            else:
                q.pairs.append((left, right))
    elif kind == "ordering":
        q.order = [_text(a) for a in answers]
    elif kind == "essay":
        q.grader_info = _text(el, "graderinfo")
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


def _body(q: Question) -> str:
    fmt = q.text_format
    if q.type == "multichoice":
        out = f"    <single>{'true' if q.single else 'false'}</single>\n"
        out += "    <shuffleanswers>true</shuffleanswers>\n"
        out += "    <answernumbering>ABCD</answernumbering>\n"
        out += "    <showstandardinstruction>0</showstandardinstruction>\n"
        return out + _combined(fmt) + "".join(_answer(a, fmt) for a in q.answers)
    if q.type == "truefalse":
        by_text = {a.text: a for a in q.answers}
        return _answer(by_text["true"], fmt) + _answer(by_text["false"], fmt)
    if q.type == "shortanswer":
        return "    <usecase>0</usecase>\n" + "".join(_answer(a, fmt) for a in q.answers)
    if q.type == "numerical":
        out = "".join(
            _answer(
                a, fmt, f"      <tolerance>{number_text(float(a.tolerance or 0))}</tolerance>\n"
            )
            for a in q.answers
        )
        if q.other_feedback:
            other = Answer("*", 0.0, q.other_feedback)
            out += _answer(other, fmt, "      <tolerance>0</tolerance>\n")
        return out
    if q.type == "matching":
        out = "    <shuffleanswers>true</shuffleanswers>\n" + _combined(fmt)
        for left, right in q.pairs:
            out += f'    <subquestion format="{FORMAT_OUT[fmt]}">\n{_writetext(left, 3)}'
            out += f"      <answer>\n{_writetext(right, 4)}      </answer>\n    </subquestion>\n"
        return out
    if q.type == "ordering":
        out = "    <layouttype>VERTICAL</layouttype>\n    <selecttype>ALL</selecttype>\n"
        out += f"    <selectcount>{len(q.order)}</selectcount>\n"
        out += "    <gradingtype>ABSOLUTE_POSITION</gradingtype>\n"
        out += "    <showgrading>SHOW</showgrading>\n" + _combined(fmt)
        for position, item in enumerate(q.order, 1):
            out += f'    <answer fraction="{position}" format="{FORMAT_OUT[fmt]}">\n'
            out += _writetext(item, 3) + "    </answer>\n"
        return out
    if q.type == "essay":
        out = "    <responseformat>editor</responseformat>\n"
        out += "    <responserequired>1</responserequired>\n"
        out += "    <responsefieldlines>10</responsefieldlines>\n"
        out += (
            "    <attachments>0</attachments>\n    <attachmentsrequired>0</attachmentsrequired>\n"
        )
        out += _field("graderinfo", q.grader_info, fmt)
        return out + _field("responsetemplate", "", fmt)
    return ""


def export_question(q: Question) -> str:
    qtype = q.type
    out = f'  <question type="{qtype}">\n'
    out += f"    <name>\n{_writetext(q.name, 3)}    </name>\n"
    out += _field("questiontext", q.text, q.text_format)
    out += _field("generalfeedback", q.general_feedback, q.text_format)
    out += f"    <defaultgrade>{0 if qtype == 'description' else 1}</defaultgrade>\n"
    out += "    <penalty>0.3333333</penalty>\n    <hidden>0</hidden>\n    <idnumber></idnumber>\n"
    out += _body(q)
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
