"""Strict YAML reading: syntax errors and duplicate keys become Problems with a line number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from academy.content.problems import Problem


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping_no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise yaml.constructor.ConstructorError(
                None, None, "不支持 YAML 合并键（<<），请直接写出各字段", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "键必须是文本或数字，不能是列表或映射", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 “{key}”（第 {seen[key]} 行已出现）", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates
)


#: The largest source, by folder: a module (course) or a case simulation, a question bank,
#: anything else (the catalogue). Larger files are refused before they are parsed.
MAX_SOURCE_BYTES = {"courses": 256 * 1024, "simulations": 256 * 1024}
MAX_BANK_BYTES = 2 * 1024 * 1024
MAX_OTHER_BYTES = 1024 * 1024


def source_limit(display: str) -> int:
    folder = display.split("/", 1)[0]
    if folder == "question_banks":
        return MAX_BANK_BYTES
    return MAX_SOURCE_BYTES.get(folder, MAX_OTHER_BYTES)


def _too_big(display: str, size: int) -> list[Problem]:
    limit = source_limit(display)
    what = {"courses": "一个模块", "simulations": "一个案例", "question_banks": "一个题库文件"}.get(
        display.split("/", 1)[0], "一个内容文件"
    )
    return [
        Problem(
            display,
            "(文件)",
            f"内容过大（{size / 1024:,.0f} KB），{what}最多 {limit // 1024:,} KB；请拆分后再保存。",
        )
    ]


def read_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > source_limit(display):
            return None, _too_big(display, size)
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError:
        return None, [Problem(display, "(文件)", "不是 UTF-8 编码的文本文件")]
    except OSError as err:
        return None, [Problem(display, "(文件)", f"无法读取：{err.strerror}")]


def load_yaml(path: Path, display: str) -> tuple[Any, list[Problem]]:
    text, problems = read_text(path, display)
    if problems:
        return None, problems
    return parse_yaml(text, display)


def parse_yaml(text: str, display: str) -> tuple[Any, list[Problem]]:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > source_limit(display):
        return None, _too_big(display, size)
    try:
        return yaml.load(text, Loader=_StrictLoader), []
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"第 {mark.line + 1} 行" if mark else "(文件)"
        reason = err.problem or str(err)
        return None, [Problem(display, where, f"YAML 格式错误：{reason}")]
    except yaml.YAMLError as err:
        return None, [Problem(display, "(文件)", f"YAML 格式错误：{err}")]


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
