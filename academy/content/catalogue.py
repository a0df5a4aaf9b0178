"""Validation of courses/catalogue.yaml into item specs (pure; no database)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from academy.catalogue.models import Channel, ItemCategory, ItemScope
from academy.content.problems import Problem

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FIELDS = (
    "slug",
    "name",
    "category",
    "department",
    "channels",
    "one_visit",
    "time_limit",
    "legal_days",
    "fee",
    "frequency",
    "scopes",
    "summary",
)
MAX_LEN = {"name": 80, "department": 120, "time_limit": 200, "fee": 80, "summary": 600}


@dataclass(frozen=True)
class ItemSpec:
    slug: str
    name: str
    category: ItemCategory
    department: str
    channels: tuple[str, ...]
    one_visit: bool
    time_limit: str
    legal_days: int | None
    fee: str
    frequency: int
    scopes: tuple[str, ...]
    summary: str

    def values(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        data["scopes"] = list(self.scopes)
        return data


def _labels(enum_cls) -> str:
    return "、".join(m.label for m in enum_cls)


def _enum_list(value, enum_cls, where, field, problems) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value:
        problems.append(
            Problem(where[0], f"{where[1]}.{field}", f"应为非空列表，可选：{_labels(enum_cls)}")
        )
        return None
    out = []
    for v in value:
        member = enum_cls.from_label(str(v)) if v is not None else None
        if member is None:
            problems.append(
                Problem(
                    where[0], f"{where[1]}.{field}", f"未知的取值 “{v}”，可选：{_labels(enum_cls)}"
                )
            )
            return None
        if member.value in out:
            problems.append(Problem(where[0], f"{where[1]}.{field}", f"“{v}” 重复出现"))
            return None
        out.append(member.value)
    return tuple(out)


def parse_catalogue(data: Any, path: str) -> tuple[list[ItemSpec], list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [], [Problem(path, "items", "文件顶层应为包含 items 列表的映射")]
    unknown_top = set(data) - {"items"}
    for key in sorted(unknown_top, key=str):
        problems.append(Problem(path, str(key), "未知的顶层字段"))
    specs: list[ItemSpec] = []
    slugs: dict[str, int] = {}
    names: dict[str, int] = {}
    for index, raw in enumerate(data["items"]):
        label = f"items[{index}]"
        if not isinstance(raw, dict):
            problems.append(Problem(path, label, "每个事项应为一个映射（键: 值）"))
            continue
        if isinstance(raw.get("slug"), str):
            label = f"items[{index}]({raw['slug']})"
        where = (path, label)
        before = len(problems)
        for key in FIELDS:
            if key not in raw:
                problems.append(Problem(path, f"{label}.{key}", "缺少必填字段"))
        for key in sorted(set(raw) - set(FIELDS), key=str):
            problems.append(Problem(path, f"{label}.{key}", "未知字段"))
        if len(problems) > before:
            continue
        slug = raw["slug"]
        if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > 80:
            problems.append(
                Problem(
                    path,
                    f"{label}.slug",
                    "应为小写英文字母、数字和连字符组成的标识（如 id-card-renewal）",
                )
            )
        elif slug in slugs:
            problems.append(Problem(path, f"{label}.slug", f"与 items[{slugs[slug]}] 重复"))
        else:
            slugs[slug] = index
        for key in ("name", "department", "time_limit", "fee", "summary"):
            value = raw[key]
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(path, f"{label}.{key}", "应为非空文本"))
            elif len(value.strip()) > MAX_LEN[key]:
                problems.append(Problem(path, f"{label}.{key}", f"不能超过 {MAX_LEN[key]} 个字"))
        name = raw["name"]
        if isinstance(name, str) and name.strip():
            if name.strip() in names:
                problems.append(
                    Problem(path, f"{label}.name", f"事项名称与 items[{names[name.strip()]}] 重复")
                )
            names.setdefault(name.strip(), index)
        category = ItemCategory.from_label(str(raw["category"]))
        if category is None:
            problems.append(
                Problem(
                    path,
                    f"{label}.category",
                    f"未知类别 “{raw['category']}”，可选：{_labels(ItemCategory)}",
                )
            )
        channels = _enum_list(raw["channels"], Channel, where, "channels", problems)
        scopes = _enum_list(raw["scopes"], ItemScope, where, "scopes", problems)
        if not isinstance(raw["one_visit"], bool):
            problems.append(Problem(path, f"{label}.one_visit", "应为 true 或 false"))
        legal_days = raw["legal_days"]
        if legal_days is not None and (
            isinstance(legal_days, bool)
            or not isinstance(legal_days, int)
            or not 0 <= legal_days <= 365
        ):
            problems.append(Problem(path, f"{label}.legal_days", "应为 0–365 的整数天数，或 null"))
        frequency = raw["frequency"]
        if isinstance(frequency, bool) or not isinstance(frequency, int) or not 1 <= frequency <= 5:
            problems.append(Problem(path, f"{label}.frequency", "应为 1–5 的整数（5 表示最常办）"))
        if len(problems) > before:
            continue
        specs.append(
            ItemSpec(
                slug=slug,
                name=name.strip(),
                category=category,
                department=raw["department"].strip(),
                channels=channels,
                one_visit=raw["one_visit"],
                time_limit=raw["time_limit"].strip(),
                legal_days=legal_days,
                fee=raw["fee"].strip(),
                frequency=frequency,
                scopes=scopes,
                summary=" ".join(raw["summary"].split()),
            )
        )
    return specs, problems
