"""The catalogue validator and the strict YAML reader report every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from academy.catalogue.models import ItemCategory
from academy.content.catalogue import ItemSpec, parse_catalogue
from academy.content.problems import Problem
from academy.content.yamlio import load_yaml

PATH = "courses/catalogue.yaml"


def raw_item(slug: str = "pension-death-benefit", **overrides) -> dict:
    item = {
        "slug": slug,
        "name": f"事项{slug}",
        "category": "登记申领",
        "department": "县人力社保局",
        "channels": ["现场办", "上门办"],
        "one_visit": True,
        "time_limit": "即时办结",
        "legal_days": None,
        "fee": "免费",
        "frequency": 4,
        "scopes": ["村", "社区"],
        "summary": "带身份证和户口簿。",
    }
    item.update(overrides)
    return item


def problems_by_field(problems: list[Problem]) -> dict[str, str]:
    assert len({p.field for p in problems}) == len(problems), problems
    return {p.field: p.reason for p in problems}


# --------------------------------------------------------------------- valid input


def test_minimal_item_parses_into_spec_with_enum_values():
    data = {
        "items": [
            raw_item(
                "pension-death-benefit",
                name="  城乡居民养老保险死亡待遇申领 ",
                summary="带死亡证明\n  和户口簿。",
                legal_days=20,
            )
        ]
    }
    specs, problems = parse_catalogue(data, PATH)
    assert problems == []
    assert specs == [
        ItemSpec(
            slug="pension-death-benefit",
            name="城乡居民养老保险死亡待遇申领",
            category=ItemCategory.REGISTRATION,
            department="县人力社保局",
            channels=("on_site", "home_visit"),
            one_visit=True,
            time_limit="即时办结",
            legal_days=20,
            fee="免费",
            frequency=4,
            scopes=("village", "community"),
            summary="带死亡证明 和户口簿。",
        )
    ]
    # what sync writes to the database: plain lists of stored values
    values = specs[0].values()
    assert values["channels"] == ["on_site", "home_visit"]
    assert values["scopes"] == ["village", "community"]
    assert values["category"] is ItemCategory.REGISTRATION


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("证明证照", ItemCategory.CERTIFICATE),
        ("登记申领", ItemCategory.REGISTRATION),
        ("充值缴费", ItemCategory.PAYMENT),
        ("特色服务", ItemCategory.SPECIAL),
    ],
)
def test_each_chinese_category_label_maps_to_its_enum(label, category):
    specs, problems = parse_catalogue({"items": [raw_item(category=label)]}, PATH)
    assert problems == []
    assert specs[0].category is category


def test_all_four_channels_are_understood():
    data = {"items": [raw_item(channels=["现场办", "上门办", "预约办", "云帮办"])]}
    specs, problems = parse_catalogue(data, PATH)
    assert problems == []
    assert specs[0].channels == ("on_site", "home_visit", "appointment", "cloud")


@pytest.mark.parametrize("legal_days", [None, 0, 60, 365])
def test_legal_days_accepts_null_and_0_to_365(legal_days):
    specs, problems = parse_catalogue({"items": [raw_item(legal_days=legal_days)]}, PATH)
    assert problems == []
    assert specs[0].legal_days == legal_days


# --------------------------------------------------------------------- all errors at once


def test_every_error_in_the_file_is_reported_at_once():
    items = [
        raw_item("good-one", name="甲"),
        raw_item("bad-category", category="户籍办理"),
        {k: v for k, v in raw_item("no-fee").items() if k != "fee"},
        raw_item("extra-field", colour="红"),
        raw_item("Bad_Slug"),
        raw_item("good-one", name="乙"),
        raw_item("same-name", name="甲"),
        raw_item("bad-channel", channels=["快递办"]),
        raw_item("no-channels", channels=[]),
        raw_item("too-frequent", frequency=6),
        raw_item("negative-days", legal_days=-1),
        raw_item("bool-days", legal_days=True),
        raw_item("yes-string", one_visit="是"),
        raw_item("long-name", name="长" * 81),
        raw_item("zero-frequency", frequency=0),
        raw_item("twice-channel", channels=["现场办", "现场办"]),
        raw_item("bad-scope", scopes=["城市"]),
        raw_item("empty-department", department="  "),
        "只是一行字",
    ]
    specs, problems = parse_catalogue({"items": items, "version": 2}, PATH)

    assert [s.slug for s in specs] == ["good-one"]
    assert {p.path for p in problems} == {PATH}
    found = problems_by_field(problems)
    expected = {
        "version": "未知的顶层字段",
        "items[1](bad-category).category": (
            "未知类别 “户籍办理”，可选：证明证照、登记申领、充值缴费、特色服务"
        ),
        "items[2](no-fee).fee": "缺少必填字段",
        "items[3](extra-field).colour": "未知字段",
        "items[4](Bad_Slug).slug": "应为小写英文字母、数字和连字符组成的标识（如 id-card-renewal）",
        "items[5](good-one).slug": "与 items[0] 重复",
        "items[6](same-name).name": "事项名称与 items[0] 重复",
        "items[7](bad-channel).channels": (
            "未知的取值 “快递办”，可选：现场办、上门办、预约办、云帮办"
        ),
        "items[8](no-channels).channels": "应为非空列表，可选：现场办、上门办、预约办、云帮办",
        "items[9](too-frequent).frequency": "应为 1–5 的整数（5 表示最常办）",
        "items[10](negative-days).legal_days": "应为 0–365 的整数天数，或 null",
        "items[11](bool-days).legal_days": "应为 0–365 的整数天数，或 null",
        "items[12](yes-string).one_visit": "应为 true 或 false",
        "items[13](long-name).name": "不能超过 80 个字",
        "items[14](zero-frequency).frequency": "应为 1–5 的整数（5 表示最常办）",
        "items[15](twice-channel).channels": "“现场办” 重复出现",
        "items[16](bad-scope).scopes": "未知的取值 “城市”，可选：村、社区",
        "items[17](empty-department).department": "应为非空文本",
        "items[18]": "每个事项应为一个映射（键: 值）",
    }
    assert found == expected


def test_missing_and_unknown_fields_are_all_listed_for_one_item():
    broken = {"slug": "half-done", "name": "半成品", "colour": "红", "size": 3}
    _specs, problems = parse_catalogue({"items": [broken]}, PATH)
    found = problems_by_field(problems)
    missing = {
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
    }
    assert found == {
        **{f"items[0](half-done).{k}": "缺少必填字段" for k in missing},
        "items[0](half-done).colour": "未知字段",
        "items[0](half-done).size": "未知字段",
    }


def test_item_without_string_slug_is_labelled_by_position():
    _specs, problems = parse_catalogue({"items": [raw_item(slug=42)]}, PATH)
    assert [(p.field, p.reason) for p in problems] == [
        ("items[0].slug", "应为小写英文字母、数字和连字符组成的标识（如 id-card-renewal）")
    ]


def test_problem_prints_as_path_field_reason():
    _specs, problems = parse_catalogue({"items": [raw_item("x", frequency=9)]}, PATH)
    assert [str(p) for p in problems] == [
        "courses/catalogue.yaml: items[0](x).frequency: 应为 1–5 的整数（5 表示最常办）"
    ]


@pytest.mark.parametrize(
    "data", [None, [], ["items"], "items: []", {}, {"items": None}, {"items": {"a": 1}}]
)
def test_top_level_must_be_a_mapping_with_items_list(data):
    specs, problems = parse_catalogue(data, PATH)
    assert specs == []
    assert problems == [Problem(PATH, "items", "文件顶层应为包含 items 列表的映射")]


# --------------------------------------------------------------------- strict YAML


def test_yaml_reads_a_good_file(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("items:\n  - slug: a\n    name: 甲\n", encoding="utf-8")
    data, problems = load_yaml(f, "ok.yaml")
    assert problems == []
    assert data == {"items": [{"slug": "a", "name": "甲"}]}


def test_yaml_syntax_error_names_the_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("items:\n  - slug: a\n    name: [甲, 乙\n  - slug: b\n", encoding="utf-8")
    data, problems = load_yaml(f, "courses/bad.yaml")
    assert data is None
    assert len(problems) == 1
    (problem,) = problems
    assert problem.path == "courses/bad.yaml"
    assert problem.field == "第 4 行"
    assert problem.reason.startswith("YAML 格式错误：")


def test_yaml_tab_indentation_error_names_the_line(tmp_path):
    f = tmp_path / "tabs.yaml"
    f.write_text("slug: a\ntitle: 甲\nitems:\n\t- a\n", encoding="utf-8")
    _data, problems = load_yaml(f, "tabs.yaml")
    assert [p.field for p in problems] == ["第 4 行"]


def test_duplicate_key_is_reported_with_both_lines(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text(
        "items:\n  - slug: a\n    name: 甲\n    fee: 免费\n    name: 乙\n", encoding="utf-8"
    )
    data, problems = load_yaml(f, "dup.yaml")
    assert data is None
    assert problems == [
        Problem("dup.yaml", "第 5 行", "YAML 格式错误：重复的键 “name”（第 3 行已出现）")
    ]


def test_duplicate_top_level_key_is_reported(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("slug: a\ntitle: 甲\nslug: b\n", encoding="utf-8")
    _data, problems = load_yaml(f, "dup.yaml")
    assert [p.field for p in problems] == ["第 3 行"]
    assert "重复的键 “slug”（第 1 行已出现）" in problems[0].reason


def test_non_utf8_file_is_reported(tmp_path):
    f = tmp_path / "gbk.yaml"
    f.write_bytes("slug: a\ntitle: 身份证换领\n".encode("gbk"))
    data, problems = load_yaml(f, "simulations/gbk.yaml")
    assert data is None
    assert problems == [Problem("simulations/gbk.yaml", "(文件)", "不是 UTF-8 编码的文本文件")]


def test_yaml_does_not_construct_python_objects(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("slug: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    data, problems = load_yaml(f, "evil.yaml")
    assert data is None
    assert problems and problems[0].reason.startswith("YAML 格式错误：")


def test_list_as_key_and_merge_keys_are_reported_in_chinese(tmp_path):
    from academy.content.yamlio import load_yaml

    p = tmp_path / "k.yaml"
    p.write_text("? [a, b]\n: 1\n", encoding="utf-8")
    _, problems = load_yaml(p, "k.yaml")
    assert problems and "不能是列表" in problems[0].reason
    p.write_text("base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n", encoding="utf-8")
    _, problems = load_yaml(p, "k.yaml")
    assert problems and "合并键" in problems[0].reason and "第 3 行" in problems[0].field


TRICKY_YAML = [
    "slug: a\ntitle: 甲\n",
    "items:\n  - slug: a\n    name: [甲, 乙\n  - slug: b\n",  # unclosed bracket
    "slug: a\ntitle: 甲\nitems:\n\t- a\n",  # tab indentation
    "items:\n  - slug: a\n    name: 甲\n    name: 乙\n",  # duplicate key
    "base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n",  # merge key
    "? [a, b]\n: 1\n",  # a list as a key
    "slug: !!python/object/apply:os.system ['true']\n",
    "title: 报警\x07铃\n",  # a control character
    "title: 第一行\x85第二行\n",  # NEL
    "title: 甲\u2028乙\n",
    "\ufeffslug: a\n",  # a byte-order mark
    "title: @张三\n",
    "title: `x`\n",
    "note: *undefined\n",
    "a: b: c\n",
    'title: "没有结尾\n',
    "title: 甲\n  bad: indent\n",
    "- a\nb: c\n",
    "on: yes\noff: no\nnum: 012\nfloat: 1e3\ndate: 2026-12-07\nnull: ~\n",
    "text: |\n  多行\n    缩进\n  文字\n",
    "x: " + "[" * 50 + "]" * 50 + "\n",
    "",
    "# 只有注释\n",
    "---\na: 1\n---\nb: 2\n",  # two documents
]


@pytest.mark.parametrize("text", TRICKY_YAML)
def test_fast_reading_answers_as_the_strict_parser_does(text):
    """libyaml reads first (it is faster); whatever it says, the answer — data or the
    problem with its line and message — is the pure-Python parser's."""
    from academy.content.yamlio import parse_strictly, parse_yaml

    assert parse_yaml(text, "x.yaml") == parse_strictly(text, "x.yaml")


def test_every_shipped_content_file_reads_the_same_fast_or_strictly():
    from academy.content.yamlio import parse_strictly, parse_yaml

    root = Path(__file__).resolve().parents[2]
    files = sorted(
        p
        for folder in ("courses", "question_banks", "simulations")
        for p in (root / folder).rglob("*.yaml")
    )
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert parse_yaml(text, path.name) == parse_strictly(text, path.name), path
