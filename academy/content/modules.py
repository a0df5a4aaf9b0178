"""Validation of course module files, courses/<item-slug>.yaml (format: courses/MODULES.md).

Pure: takes parsed YAML, returns Problems with the field path and a Chinese reason.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from academy.content.problems import Problem
from academy.roster.rules import id_number_problem, phone_problem

CHANNELS = {"现场办", "上门办", "预约办", "云帮办"}
MATERIAL_FORMS = {"原件", "复印件", "原件和复印件", "电子证照", "现场填写"}
DIMENSIONS = {"业务知识", "服务规范", "应急处置"}
FIELD_TYPES = {"text", "id_number", "date", "phone", "choice", "number"}
GUIDE_TEXT = ("who", "where", "signer", "time_limit", "fee", "reform")
VALUE_CHECKS = {"id_number": id_number_problem, "phone": phone_problem}
TOP_KEYS = (
    "slug",
    "item",
    "title",
    "summary",
    "guide",
    "tell_once",
    "mistakes",
    "emergencies",
    "practice",
    "check",
)


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, field: str, reason: str) -> None:
        self.problems.append(Problem(self.path, field, reason))

    def text(self, data: dict, key: str, where: str) -> bool:
        value = data.get(key) if isinstance(data, dict) else None
        if not isinstance(value, str) or not value.strip():
            self.add(f"{where}{key}", "应为非空文本")
            return False
        return True

    def mapping(self, value: Any, where: str) -> bool:
        if not isinstance(value, dict):
            self.add(where, "应为映射（键: 值）")
            return False
        return True

    def listing(self, value: Any, where: str, lo: int, hi: int) -> bool:
        if not isinstance(value, list):
            self.add(where, f"应为列表（{lo}–{hi} 项）")
            return False
        if not lo <= len(value) <= hi:
            self.add(where, f"应有 {lo}–{hi} 项，现有 {len(value)} 项")
        return True


def _options(
    c: _Checker,
    options: Any,
    where: str,
    lo: int,
    hi: int,
    correct: tuple[int, int],
    seen_ids: set[str],
) -> None:
    if not c.listing(options, where, lo, hi):
        return
    n_correct = 0
    for i, opt in enumerate(options):
        here = f"{where}[{i}]"
        if not c.mapping(opt, here):
            continue
        oid = opt.get("id")
        if not isinstance(oid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", oid):
            c.add(f"{here}.id", "应为小写字母开头的标识，如 m1")
        elif oid in seen_ids:
            c.add(f"{here}.id", f"选项标识 “{oid}” 重复")
        else:
            seen_ids.add(oid)
        c.text(opt, "text", f"{here}.")
        if not isinstance(opt.get("correct"), bool):
            c.add(f"{here}.correct", "应为 true 或 false")
            continue
        n_correct += opt["correct"]
        if not opt["correct"] and not (
            isinstance(opt.get("feedback"), str) and opt["feedback"].strip()
        ):
            c.add(f"{here}.feedback", "错误选项必须说明为什么不对")
    if not correct[0] <= n_correct <= correct[1]:
        want = f"{correct[0]}" if correct[0] == correct[1] else f"{correct[0]}–{correct[1]}"
        c.add(where, f"正确选项应为 {want} 个，现有 {n_correct} 个")


def _form_fields(c: _Checker, fields: Any, where: str) -> None:
    if not c.listing(fields, where, 2, 20):
        return
    ids: set[str] = set()
    for i, fld in enumerate(fields):
        here = f"{where}[{i}]"
        if not c.mapping(fld, here):
            continue
        fid = fld.get("id")
        if not isinstance(fid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", fid) or fid in ids:
            c.add(f"{here}.id", "应为唯一的小写标识，如 id_number")
        else:
            ids.add(fid)
        c.text(fld, "label", f"{here}.")
        kind = fld.get("type")
        if kind not in FIELD_TYPES:
            c.add(f"{here}.type", f"未知类型 “{kind}”，可选：{'、'.join(sorted(FIELD_TYPES))}")
            continue
        required = fld.get("required", True)
        if not isinstance(required, bool):
            c.add(f"{here}.required", "应为 true 或 false")
        expected = fld.get("expected")
        if expected in (None, ""):
            if required:
                c.add(f"{here}.expected", "必填栏目需给出标准答案")
            continue
        value = str(expected)
        checker = VALUE_CHECKS.get(kind)
        if checker and (problem := checker(value)):
            c.add(f"{here}.expected", problem)
        elif kind == "date":
            try:
                if not 1900 <= date.fromisoformat(value).year <= 2100:
                    c.add(f"{here}.expected", "日期应在 1900 年到 2100 年之间")
            except ValueError:
                c.add(f"{here}.expected", "日期应写成 YYYY-MM-DD 的有效日期")
        elif kind == "number":
            try:
                float(value)
            except ValueError:
                c.add(f"{here}.expected", "应为数字")
        elif kind == "choice":
            options = fld.get("options")
            if not isinstance(options, list) or len(options) < 2:
                c.add(f"{here}.options", "选择题栏目至少需要 2 个选项")
            elif expected not in options:
                c.add(f"{here}.expected", "标准答案不在选项中")


def _check_questions(c: _Checker, questions: Any) -> None:
    if not c.listing(questions, "check", 5, 5):
        return
    dims = set()
    for i, q in enumerate(questions):
        here = f"check[{i}]"
        if not c.mapping(q, here):
            continue
        c.text(q, "text", f"{here}.")
        c.text(q, "explanation", f"{here}.")
        if q.get("dimension") not in DIMENSIONS:
            c.add(f"{here}.dimension", f"应为：{'、'.join(sorted(DIMENSIONS))}")
        else:
            dims.add(q["dimension"])
        if q.get("difficulty") not in (1, 2, 3):
            c.add(f"{here}.difficulty", "应为 1、2 或 3")
        kind = q.get("type")
        if kind == "truefalse":
            if not isinstance(q.get("answer"), bool):
                c.add(f"{here}.answer", "判断题的 answer 应为 true 或 false")
        elif kind in ("single", "multiple"):
            options = q.get("options")
            if not c.listing(options, f"{here}.options", 3, 6):
                continue
            flags = [o.get("correct") for o in options if isinstance(o, dict)]
            if len(flags) != len(options) or not all(isinstance(f, bool) for f in flags):
                c.add(f"{here}.options", "每个选项需要 text 和 correct（true/false）")
                continue
            for j, o in enumerate(options):
                c.text(o, "text", f"{here}.options[{j}].")
            n = sum(flags)
            if kind == "single" and n != 1:
                c.add(f"{here}.options", f"单选题应有 1 个正确选项，现有 {n} 个")
            if kind == "multiple" and n < 2:
                c.add(f"{here}.options", f"多选题应至少有 2 个正确选项，现有 {n} 个")
        else:
            c.add(f"{here}.type", "应为 single、multiple 或 truefalse")
    if len(dims) < len(DIMENSIONS) and len(questions) == 5:
        missing = "、".join(sorted(DIMENSIONS - dims))
        c.add("check", f"5 道题应覆盖三个维度，缺少：{missing}")


def check_module(path: str, data: Any, item_slugs: set[str]) -> list[Problem]:
    c = _Checker(path)
    if not c.mapping(data, "(文件)"):
        return c.problems
    for key in TOP_KEYS:
        if key not in data:
            c.add(key, "缺少必填字段")
    for key in sorted(set(data) - set(TOP_KEYS), key=str):
        c.add(str(key), "未知字段")
    if c.problems:
        return c.problems
    if data["item"] not in item_slugs:
        c.add("item", f"事项 “{data['item']}” 不在目录 courses/catalogue.yaml 中")
    if data["slug"] != data["item"]:
        c.add("slug", "模块标识应与事项标识相同（一事项一指南）")
    expected_name = path.rsplit("/", 1)[-1].removesuffix(".yaml")
    if data["slug"] != expected_name:
        c.add("slug", f"应与文件名一致（{expected_name}）")
    for key in ("title", "summary", "tell_once"):
        c.text(data, key, "")

    guide = data["guide"]
    if c.mapping(guide, "guide"):
        for key in GUIDE_TEXT:
            c.text(guide, key, "guide.")
        materials = guide.get("materials")
        if c.listing(materials, "guide.materials", 1, 15):
            for i, m in enumerate(materials):
                here = f"guide.materials[{i}]"
                if not c.mapping(m, here):
                    continue
                c.text(m, "name", f"{here}.")
                if m.get("form") not in MATERIAL_FORMS:
                    c.add(f"{here}.form", f"应为：{'、'.join(sorted(MATERIAL_FORMS))}")
                copies = m.get("copies")
                if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
                    c.add(f"{here}.copies", "份数应为正整数")
        channels = guide.get("channels")
        if not isinstance(channels, list) or not channels or not set(channels) <= CHANNELS:
            c.add("guide.channels", f"应为非空列表，可选：{'、'.join(sorted(CHANNELS))}")
        steps = guide.get("steps")
        if c.listing(steps, "guide.steps", 2, 15):
            for i, step in enumerate(steps):
                if not isinstance(step, str) or not step.strip():
                    c.add(f"guide.steps[{i}]", "应为非空文本")

    for key, lo, hi, fields in (
        ("mistakes", 3, 6, ("mistake", "fix")),
        ("emergencies", 3, 5, ("situation", "action")),
    ):
        entries = data[key]
        if c.listing(entries, key, lo, hi):
            for i, entry in enumerate(entries):
                if c.mapping(entry, f"{key}[{i}]"):
                    for f in fields:
                        c.text(entry, f, f"{key}[{i}].")

    practice = data["practice"]
    if c.mapping(practice, "practice"):
        seen: set[str] = set()
        for key, lo, hi, correct in (("materials", 6, 9, (2, 5)), ("channel", 3, 5, (1, 1))):
            part = practice.get(key)
            if c.mapping(part, f"practice.{key}"):
                c.text(part, "prompt", f"practice.{key}.")
                _options(c, part.get("options"), f"practice.{key}.options", lo, hi, correct, seen)
        order = practice.get("order")
        if c.mapping(order, "practice.order"):
            c.text(order, "prompt", "practice.order.")
            steps = order.get("steps")
            if c.listing(steps, "practice.order.steps", 4, 7):
                texts = [s for s in steps if isinstance(s, str) and s.strip()]
                if len(texts) != len(steps):
                    c.add("practice.order.steps", "每一步都应为非空文本")
                elif len(set(texts)) != len(texts):
                    c.add("practice.order.steps", "步骤文字不能重复，否则无法判断顺序")
        form = practice.get("form")
        if c.mapping(form, "practice.form"):
            c.text(form, "title", "practice.form.")
            c.text(form, "case", "practice.form.")
            _form_fields(c, form.get("fields"), "practice.form.fields")

    _check_questions(c, data["check"])
    return c.problems
