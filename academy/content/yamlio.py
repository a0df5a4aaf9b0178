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

if getattr(yaml, "__with_libyaml__", False):

    class _FastLoader(yaml.CSafeLoader):
        """libyaml's parser (several times faster on a whole content tree), the same
        constructors. Used first; any error is read again by _StrictLoader, whose messages
        (and verdict) are the ones reported."""

    _FastLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates
    )
else:  # a PyYAML built without libyaml
    _FastLoader = _StrictLoader


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


# PyYAML's messages, in words an author can act on (never English on a page).
_YAML_REASONS = (
    (
        "mapping values are not allowed",
        "这一行多了一个英文冒号“:”。文字里的冒号请改用中文“：”，或给整段文字加引号",
    ),
    ("could not find expected ':'", "缺少英文冒号“:”：每个字段应写成“字段名: 内容”"),
    ("cannot start any token", "不能用 Tab 键缩进，请改用空格"),
    ("found unexpected end of stream", "引号没有成对：开头的引号缺少结尾"),
    ("while scanning a quoted scalar", "引号没有成对：开头的引号缺少结尾"),
    ("did not find expected key", "缩进不一致：同一层的字段应对齐"),
    ("did not find expected '-' indicator", "缩进不一致：列表的各项（以“- ”开头）应对齐"),
    ("expected <block end>", "缩进不一致：这一行比上一层多缩进或少缩进了"),
    ("did not find expected node content", "这里缺少内容：冒号或“- ”后面应有文字"),
    ("found undefined alias", "不能以“*”开头：如需星号，请给整段文字加引号"),
    ("found character '@'", "不能以“@”或“`”开头：请给整段文字加引号"),
    ("found character '`'", "不能以“@”或“`”开头：请给整段文字加引号"),
    ("expected ',' or ']'", "方括号没有成对，或列表项之间缺少逗号"),
    ("expected ',' or '}'", "花括号没有成对，或各项之间缺少逗号"),
    ("while parsing a flow", "方括号或花括号没有成对"),
)


def yaml_reason(message: str) -> str:
    """A Chinese reason for a PyYAML error message; our own messages are Chinese already."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in message):
        return message
    for needle, reason in _YAML_REASONS:
        if needle in message:
            return reason
    return "格式不正确：请检查这一行的缩进、冒号和引号"


def parse_yaml(text: str, display: str) -> tuple[Any, list[Problem]]:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > source_limit(display):
        return None, _too_big(display, size)
    if not yaml.reader.Reader.NON_PRINTABLE.search(text):  # else: the strict reader says where
        try:
            return yaml.load(text, Loader=_FastLoader), []
        except yaml.YAMLError:
            pass  # read again: the pure-Python parser's verdict and messages count
    return parse_strictly(text, display)


def parse_strictly(text: str, display: str) -> tuple[Any, list[Problem]]:
    """The pure-Python parser's reading (what ``parse_yaml`` answers for any text)."""
    try:
        return yaml.load(text, Loader=_StrictLoader), []
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"第 {mark.line + 1} 行" if mark else "(文件)"
        reason = yaml_reason(" ".join(filter(None, (err.context, err.problem))) or str(err))
        return None, [Problem(display, where, f"YAML 格式错误：{reason}")]
    except yaml.YAMLError as err:
        return None, [Problem(display, "(文件)", f"YAML 格式错误：{yaml_reason(str(err))}")]


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
