"""Walk the content folders, validate every file and collect all problems at once.

Folders (relative to the content root):
  courses/catalogue.yaml      the service-item catalogue
  courses/*.yaml              course modules (one per item; see courses/README.md)
  question_banks/*.yaml       question banks (see question_banks/README.md)
  simulations/*.yaml          simulation cases (see simulations/README.md)

Each folder is a kind of content that a feature registers (see `academy.content`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from academy.content.catalogue import SLUG_RE, ItemSpec, parse_catalogue
from academy.content.modules import check_module
from academy.content.problems import Problem
from academy.content.yamlio import load_yaml, parse_yaml, read_text

CATALOGUE_FILE = "courses/catalogue.yaml"


@dataclass(frozen=True)
class ContentDoc:
    path: str  # relative to the content root, e.g. courses/water-bill.yaml
    data: dict
    text: str  # the file as written (comments included)


@dataclass
class ContentBundle:
    root: Path
    items: list[ItemSpec] = field(default_factory=list)
    documents: dict[str, list[ContentDoc]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Slugs written in the catalogue, valid or not: a reference to an item that is
    # present but invalid is not reported a second time.
    written_slugs: set = field(default_factory=set)

    @property
    def item_slugs(self) -> set[str]:
        return {i.slug for i in self.items}

    @property
    def known_slugs(self) -> set[str]:
        """Slugs a content file may refer to without a problem being reported here."""
        return self.item_slugs | self.written_slugs


Validator = Callable[[str, Any, ContentBundle], list[Problem]]
# folder -> validator, in the order the kinds were registered (see academy.content.register)
VALIDATORS: dict[str, Validator] = {}


def _check_document(
    display: str, data: Any, bundle: ContentBundle, required: tuple[str, ...]
) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return [Problem(display, "(文件)", "文件顶层应为映射（键: 值）")]
    for key in required:
        if key not in data or data[key] in (None, ""):
            problems.append(Problem(display, key, "缺少必填字段"))
    slug = data.get("slug")
    if slug is not None and (not isinstance(slug, str) or not SLUG_RE.match(slug)):
        problems.append(Problem(display, "slug", "应为小写英文字母、数字和连字符组成的标识"))
    items = data.get("items", [])
    if "item" in data:
        items = [data["item"]]
    if not isinstance(items, list):
        problems.append(Problem(display, "items", "应为事项标识（slug）的列表"))
    else:
        for i, ref in enumerate(items):
            where = f"items[{i}]" if "item" not in data else "item"
            if not isinstance(ref, str):
                problems.append(Problem(display, where, "应为事项标识（slug）文本"))
            elif ref not in bundle.known_slugs:
                problems.append(
                    Problem(display, where, f"事项 “{ref}” 不在目录 {CATALOGUE_FILE} 中")
                )
    return problems


def validate_module(display: str, data: Any, bundle: ContentBundle) -> list[Problem]:
    return check_module(display, data, bundle.known_slugs)


def validate_document(display: str, data: Any, bundle: ContentBundle) -> list[Problem]:
    """The least every content file must be: a mapping with a slug and a title."""
    return _check_document(display, data, bundle, ("slug", "title"))


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def load_content(root: Path) -> ContentBundle:
    """Read and validate everything under ``root``; problems are collected, not raised."""
    bundle = ContentBundle(root=root)
    catalogue_path = root / CATALOGUE_FILE
    if not catalogue_path.exists():
        bundle.problems.append(Problem(CATALOGUE_FILE, "(文件)", "缺少事项目录文件"))
    else:
        data, problems = load_yaml(catalogue_path, CATALOGUE_FILE)
        bundle.problems.extend(problems)
        if not problems:
            bundle.items, problems = parse_catalogue(data, CATALOGUE_FILE)
            bundle.problems.extend(problems)
            raw_items = data.get("items") if isinstance(data, dict) else None
            bundle.written_slugs = {
                i["slug"]
                for i in raw_items or []
                if isinstance(i, dict) and isinstance(i.get("slug"), str)
            }
    for folder in list(VALIDATORS):
        base = root / folder
        docs: list[ContentDoc] = []
        bundle.documents[folder] = docs
        if not base.is_dir():
            continue
        seen_slugs: dict[str, str] = {}
        for path in sorted([*base.rglob("*.yaml"), *base.rglob("*.yml")], key=_natural_key):
            display = path.relative_to(root).as_posix()
            if display == CATALOGUE_FILE:
                continue
            text, problems = read_text(path, display)
            data = None
            if not problems:
                data, problems = parse_yaml(text, display)
            if not problems:
                problems = VALIDATORS[folder](display, data, bundle)
            if not problems:
                slug = data["slug"]
                if slug in seen_slugs:
                    problems = [Problem(display, "slug", f"与 {seen_slugs[slug]} 重复")]
                else:
                    seen_slugs[slug] = display
                    docs.append(ContentDoc(display, data, text))
            bundle.problems.extend(problems)
    return bundle
