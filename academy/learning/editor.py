"""The structured module editor: web form fields <-> a module document.

Pure (no db, no request): ``document_from_form`` turns the posted fields into the same dict a
``courses/<slug>.yaml`` file holds; the view dumps it to YAML and saves it through the usual
service, so validation, revisions and export are unchanged. Lists are rows named
``<list>-<n>-<field>`` with an order number (``-order``) and a remove box (``-remove``); a
row left empty is ignored, which is how the blank row at the end adds an item.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from academy.content.modules import CHANNELS, DIMENSIONS, FIELD_TYPES, MATERIAL_FORMS

CHANNEL_ORDER = ["现场办", "上门办", "预约办", "云帮办"]
MATERIAL_FORM_ORDER = ["原件", "复印件", "原件和复印件", "电子证照", "现场填写"]
DIMENSION_ORDER = ["业务知识", "服务规范", "应急处置"]
FIELD_TYPE_LABELS = {
    "text": "文字",
    "id_number": "身份证号",
    "date": "日期",
    "phone": "手机号",
    "choice": "选择",
    "number": "数字",
}
QUESTION_TYPES = {"single": "单选", "multiple": "多选", "truefalse": "判断"}
GUIDE_TEXT_LABELS = {
    "who": "办理对象",
    "where": "在哪里办",
    "signer": "审核签字",
    "time_limit": "办理时限",
    "fee": "收费",
    "reform": "改革举措（最多跑一次等）",
}
assert set(CHANNEL_ORDER) == CHANNELS and set(MATERIAL_FORM_ORDER) == MATERIAL_FORMS
assert set(DIMENSION_ORDER) == DIMENSIONS and set(FIELD_TYPE_LABELS) == FIELD_TYPES

_FLAGS = (
    "correct",
    "optional",
    "key",
    "type",
    "form",
    "copies",
    "dimension",
    "difficulty",
    "answer",
)
_ROW = re.compile(r"\A(?P<list>[a-z0-9_.]+)-(?P<n>\d{1,3})-(?P<field>[a-z_]+)\Z")


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").replace("\r\n", "\n").strip()


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def rows(form: Mapping[str, str], name: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of one list, in the order the expert numbered them, without removed or
    empty rows. Each row maps field -> stripped text ('' when absent, 'on' when ticked)."""
    found: dict[int, dict[str, str]] = {}
    for key in form:
        m = _ROW.match(key)
        if m and m["list"] == name:
            found.setdefault(int(m["n"]), {})
    result = []
    for n, _ in sorted(found.items()):
        row = {f: _text(form, f"{name}-{n}-{f}") for f in fields}
        if form.get(f"{name}-{n}-remove"):
            continue
        if not any(row[f] for f in fields if f not in _FLAGS):
            continue  # the blank row, or a row emptied by the expert
        raw = _text(form, f"{name}-{n}-order")
        try:
            order = float(raw) if raw else float(n + 1)
        except ValueError:
            order = float(n + 1)
        result.append((order, n, row))
    return [row for _, _, row in sorted(result, key=lambda t: (t[0], t[1]))]


def _drop_empty(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    for k in keys:
        if d.get(k) in ("", None):
            d.pop(k, None)
    return d


def _options(form: Mapping[str, str], name: str) -> list[dict[str, Any]]:
    out = []
    for r in rows(form, name, ("id", "text", "correct", "feedback")):
        out.append(
            _drop_empty(
                {
                    "id": r["id"],
                    "text": r["text"],
                    "correct": bool(r["correct"]),
                    "feedback": r["feedback"],
                },
                "feedback",
            )
        )
    return out


def _form_fields(form: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for r in rows(form, "fields", ("id", "label", "type", "expected", "options", "optional")):
        field: dict[str, Any] = {"id": r["id"], "label": r["label"], "type": r["type"]}
        if r["type"] == "choice":
            field["options"] = [o for o in re.split(r"[,，、;；\n]+", r["options"]) if o.strip()]
        if r["expected"]:
            field["expected"] = _number(r["expected"]) if r["type"] == "number" else r["expected"]
        if r["optional"]:
            field["required"] = False
        out.append(field)
    return out


def _questions(form: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    fields = ("type", "dimension", "difficulty", "text", "answer", "explanation", "key")
    for r in rows(form, "check", fields):
        q: dict[str, Any] = {
            "type": r["type"],
            "dimension": r["dimension"],
            "difficulty": _number(r["difficulty"]),
            "text": r["text"],
        }
        key = r["key"]  # the question's own row number, which names its option rows
        if r["type"] == "truefalse":
            q["answer"] = r["answer"] == "true"
        else:
            q["options"] = [
                {"text": o["text"], "correct": bool(o["correct"])}
                for o in rows(form, f"check.{key}.options", ("text", "correct"))
            ]
        if r["explanation"]:
            q["explanation"] = r["explanation"]
        out.append(q)
    return out


def document_from_form(form: Mapping[str, str], base: dict[str, Any]) -> dict[str, Any]:
    """The module document the form describes. ``base`` (the saved document) supplies the
    identity (slug, item) and anything the form does not show."""
    doc = copy.deepcopy(base)
    doc["title"] = _text(form, "title")
    doc["summary"] = _text(form, "summary")
    guide = dict(doc.get("guide") or {})
    for key in GUIDE_TEXT_LABELS:
        guide[key] = _text(form, f"guide.{key}")
    guide["channels"] = [c for c in CHANNEL_ORDER if form.get(f"guide.channels.{c}")]
    guide["materials"] = [
        _drop_empty(
            {
                "name": r["name"],
                "form": r["form"],
                "copies": _number(r["copies"]),
                "note": r["note"],
            },
            "note",
        )
        for r in rows(form, "materials", ("name", "form", "copies", "note"))
    ]
    guide["steps"] = _lines(_text(form, "guide.steps"))
    doc["guide"] = {k: guide[k] for k in _guide_order(guide)}
    doc["tell_once"] = _text(form, "tell_once")
    doc["mistakes"] = [
        {"mistake": r["mistake"], "fix": r["fix"]}
        for r in rows(form, "mistakes", ("mistake", "fix"))
    ]
    doc["emergencies"] = [
        {"situation": r["situation"], "action": r["action"]}
        for r in rows(form, "emergencies", ("situation", "action"))
    ]
    practice = dict(doc.get("practice") or {})
    for part in ("materials", "channel"):
        practice[part] = {
            "prompt": _text(form, f"practice.{part}.prompt"),
            "options": _options(form, f"practice.{part}"),
        }
    practice["order"] = {
        "prompt": _text(form, "practice.order.prompt"),
        "steps": _lines(_text(form, "practice.order.steps")),
    }
    practice["form"] = {
        "title": _text(form, "practice.form.title"),
        "case": _text(form, "practice.form.case"),
        "fields": _form_fields(form),
    }
    doc["practice"] = practice
    doc["check"] = _questions(form)
    return doc


def _guide_order(guide: dict[str, Any]) -> list[str]:
    """The order of MODULES.md, then anything else the file had."""
    known = [
        "who",
        "materials",
        "where",
        "channels",
        "steps",
        "signer",
        "time_limit",
        "fee",
        "reform",
    ]
    return [k for k in known if k in guide] + [k for k in guide if k not in known]


_SECTIONS = [
    (r"^title$", "标题"),
    (r"^summary$", "简介"),
    (r"^tell_once$", "一次性告知"),
    (r"^guide\.materials\[(\d+)\]", "办理材料 第 {} 条"),
    (r"^guide\.materials", "办理材料"),
    (r"^guide\.steps", "办理步骤"),
    (r"^guide\.channels", "办理渠道"),
    (r"^guide\.(\w+)", "办事指南"),
    (r"^mistakes\[(\d+)\]", "常见错误 第 {} 条"),
    (r"^mistakes", "常见错误"),
    (r"^emergencies\[(\d+)\]", "应急处置 第 {} 条"),
    (r"^emergencies", "应急处置"),
    (r"^practice\.materials\.options\[(\d+)\]", "练习：选材料 · 选项 {}"),
    (r"^practice\.materials", "练习：选材料"),
    (r"^practice\.channel\.options\[(\d+)\]", "练习：选渠道 · 选项 {}"),
    (r"^practice\.channel", "练习：选渠道"),
    (r"^practice\.order", "练习：排步骤"),
    (r"^practice\.form\.fields\[(\d+)\]", "练习：填表 · 第 {} 栏"),
    (r"^practice\.form", "练习：填表"),
    (r"^check\[(\d+)\]", "小测验 第 {} 题"),
    (r"^check", "小测验"),
]
_FIELD_WORDS = {
    "name": "名称",
    "form": "原件/复印件",
    "copies": "份数",
    "text": "文字",
    "feedback": "说明",
    "correct": "是否正确",
    "id": "标识",
    "label": "栏目名",
    "expected": "标准答案",
    "type": "类型",
    "options": "选项",
    "prompt": "题目",
    "mistake": "错误做法",
    "fix": "正确做法",
    "situation": "情形",
    "action": "处置",
    "dimension": "维度",
    "difficulty": "难度",
    "who": "办理对象",
    "where": "在哪里办",
    "signer": "审核签字",
    "time_limit": "办理时限",
    "fee": "收费",
    "reform": "改革举措",
    "title": "表名",
    "case": "情景",
    "steps": "步骤",
}


_COMMENT = re.compile(r"(?:^|\s)#\s")


def comment_lines(source: str) -> int:
    """Lines of the YAML source carrying a comment (the form's YAML will not keep them)."""
    return sum(1 for line in source.splitlines() if _COMMENT.search(line))


def place(field: str) -> str:
    """Where a problem is, in the editor's words: 'guide.materials[1].copies' ->
    '办理材料 第 2 条 · 份数'."""
    for pattern, label in _SECTIONS:
        m = re.match(pattern, field)
        if m:
            text = label.format(*(int(g) + 1 for g in m.groups() if g and g.isdigit()))
            last = re.search(r"\.([a-z_]+)$", field)
            if last and _FIELD_WORDS.get(last[1]) and not text.endswith(_FIELD_WORDS[last[1]]):
                text += f" · {_FIELD_WORDS[last[1]]}"
            return text
    return field
