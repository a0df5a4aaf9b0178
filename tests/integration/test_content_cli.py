"""`flask content check` and `flask content sync` on temporary content trees.

The CLI uses ``db.session``; the ``db_session`` fixture swaps it for a session bound to
a connection whose outer transaction is rolled back after each test, so the command's
``db.session.commit()`` only releases a SAVEPOINT.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from academy.catalogue.models import ItemCategory, ServiceItem
from academy.extensions import db
from academy.regions.models import Village
from tests import factories
from tests.content_samples import valid_bank, valid_module

OLD = datetime(2000, 1, 1)


def item(slug: str, name: str, **overrides) -> dict:
    data = {
        "slug": slug,
        "name": name,
        "category": "登记申领",
        "department": "县人力社保局",
        "channels": ["现场办"],
        "one_visit": True,
        "time_limit": "即时办结",
        "legal_days": None,
        "fee": "免费",
        "frequency": 3,
        "scopes": ["村"],
        "summary": f"{name}的说明。",
    }
    data.update(overrides)
    return data


ITEMS = [
    item("pension-death-benefit", "城乡居民养老保险死亡待遇申领", frequency=4),
    item("senior-allowance", "高龄津贴申领", channels=["现场办", "上门办"]),
    item("bus-card-top-up", "公交卡充值", category="充值缴费", channels=["云帮办"]),
]


def write_yaml(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def write_catalogue(root: Path, items: list[dict]) -> None:
    write_yaml(root / "courses" / "catalogue.yaml", {"items": items})


@pytest.fixture
def root(tmp_path) -> Path:
    base = tmp_path / "content"
    write_catalogue(base, ITEMS)
    return base


@pytest.fixture
def cli(app, db_session):
    runner = app.test_cli_runner()

    def run(*args: str, root: Path):
        return runner.invoke(args=["content", *args, "--root", str(root)])

    return run


def items_by_slug() -> dict[str, ServiceItem]:
    return {i.slug: i for i in db.session.scalars(sa.select(ServiceItem))}


def snapshot() -> dict[str, tuple]:
    return {
        i.slug: (i.id, i.name, i.summary, i.retired, i.updated_at) for i in items_by_slug().values()
    }


def age_all_rows() -> None:
    """Backdate every item so that any later write is visible in updated_at."""
    db.session.execute(sa.update(ServiceItem).values(updated_at=OLD))
    db.session.commit()


# --------------------------------------------------------------------- check


def test_check_passes_on_a_good_tree(cli, root):
    write_yaml(
        root / "question_banks" / "pension.yaml",
        valid_bank("pension", "pension-death-benefit"),
    )
    write_yaml(
        root / "simulations" / "death-claim.yaml",
        {"slug": "death-claim", "title": "死亡待遇一次办", "item": "pension-death-benefit"},
    )
    write_yaml(
        root / "courses" / "pension-death-benefit.yaml", valid_module("pension-death-benefit")
    )
    result = cli("check", root=root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "内容校验通过：事项 3 项，其他内容文件 3 个。"
    # The item-quality figures are always printed: per folder, in total, duplicates.
    assert lines[:-1] == [
        "题目质量 · 题库合计: 单选 1 题（随机猜中 33.3%）：最长 100.0%，最短 0.0%，"
        "题干重复 0.0%，绝对词 0.0%，去掉最长最短再猜 0.0%；多选 1 题：最长几项 100.0%；"
        "判断 1 题：答案为“对” 0.0%",
        "题目质量 · 模块小测合计: 单选 2 题（随机猜中 33.3%）：最长 100.0%，最短 0.0%，"
        "题干重复 0.0%，绝对词 0.0%，去掉最长最短再猜 0.0%；多选 1 题：最长几项 100.0%；"
        "判断 2 题：答案为“对” 0.0%",
        "题目质量 · 全部: 单选 3 题（随机猜中 33.3%）：最长 100.0%，最短 0.0%，"
        "题干重复 0.0%，绝对词 0.0%，去掉最长最短再猜 0.0%；多选 2 题：最长几项 100.0%；"
        "判断 3 题：答案为“对” 0.0%",
        "题目质量 · 重复或几乎相同的题干：0 对",
    ]


def _cued_bank(slug: str, n: int, longest_keys: int, salt: int) -> dict:
    """A bank of ``n`` single-answer questions, the first ``longest_keys`` keyed on the
    uniquely longest option, the others on a middle-length one."""
    questions = []
    for i in range(n):
        opts = [f"第{i}题的甲乙丙", f"第{i}题甲乙", f"第{i}题的甲乙丙丁戊"]
        key = 2 if i < longest_keys else 0
        questions.append(
            {
                "id": f"q{i:02d}",
                "type": "multichoice",
                "dimension": "业务知识",
                "difficulty": 1,
                "text": "".join(chr(0x4E00 + 8 * i + 997 * salt + k) for k in range(8)),
                "answers": [
                    {"text": t, "fraction": 100 if j == key else 0} for j, t in enumerate(opts)
                ],
            }
        )
    return {"slug": slug, "title": "测试题库", "questions": questions}


def test_check_fails_on_a_bank_whose_key_is_the_longest_option(cli, root):
    write_yaml(root / "question_banks" / "cued.yaml", _cued_bank("cued", 6, 4, salt=1))
    write_yaml(root / "question_banks" / "fair.yaml", _cued_bank("fair", 6, 2, salt=2))
    result = cli("check", root=root)
    assert result.exit_code == 1
    assert (
        "question_banks/cued.yaml: (题目质量): 正确选项是唯一最长项的单选题占 66.7%（4/6），"
        "单个题库上限 50.0%"
    ) in result.stdout
    assert "question_banks/fair.yaml:" not in result.stdout
    assert "共发现 1 个问题。" in result.stderr


def test_check_reports_the_same_stem_in_two_files(cli, root):
    write_yaml(root / "question_banks" / "pension.yaml", valid_bank("pension"))
    write_yaml(root / "question_banks" / "copy.yaml", valid_bank("copy"))
    result = cli("check", "--quality", root=root)
    assert result.exit_code == 1
    assert (
        "question_banks/pension.yaml: questions[0](q01).text: "
        "题干与 question_banks/copy.yaml questions[0](q01) 相同"
    ) in result.stdout
    # --quality lists the figures of every file.
    assert "题目质量 · question_banks/copy.yaml: 单选 1 题" in result.stdout


def test_check_reports_every_problem_in_every_file(cli, root):
    broken = [
        ITEMS[0],
        item("broken-item", "乙事项", category="户籍", channels=["快递办"]),
        item("bad-frequency", "丙事项", frequency=9),
    ]
    write_catalogue(root, broken)
    write_yaml(
        root / "question_banks" / "x.yaml",
        {"slug": "bank", "items": ["pension-death-benefit", "nope"]},
    )
    (root / "simulations").mkdir()
    (root / "simulations" / "y.yaml").write_text(
        "slug: case\ntitle: 案例\nitem: [broken\n", encoding="utf-8"
    )
    write_yaml(root / "simulations" / "z.yaml", [1, 2])
    write_yaml(root / "courses" / "a.yaml", {"slug": "mod-a", "title": "模块"})
    (root / "question_banks" / "gbk.yaml").write_bytes("slug: g\ntitle: 题库\n".encode("gbk"))

    result = cli("check", root=root)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        *(
            f"courses/a.yaml: {field}: 缺少必填字段"
            for field in (
                "check",
                "emergencies",
                "guide",
                "item",
                "mistakes",
                "practice",
                "summary",
                "tell_once",
            )
        ),
        "courses/catalogue.yaml: items[1](broken-item).category: "
        "未知类别 “户籍”，可选：证明证照、登记申领、充值缴费、特色服务",
        "courses/catalogue.yaml: items[1](broken-item).channels: "
        "未知的取值 “快递办”，可选：现场办、上门办、预约办、云帮办",
        "courses/catalogue.yaml: items[2](bad-frequency).frequency: "
        "应为 1–5 的整数（5 表示最常办）",
        "question_banks/gbk.yaml: (文件): 不是 UTF-8 编码的文本文件",
        "question_banks/x.yaml: items[1]: 事项 “nope” 不在目录 courses/catalogue.yaml 中",
        "question_banks/x.yaml: questions: 缺少必填字段",
        "question_banks/x.yaml: title: 缺少必填字段",
        "simulations/y.yaml: 第 4 行: YAML 格式错误：expected ',' or ']', but got '<stream end>'",
        "simulations/z.yaml: (文件): 文件顶层应为映射（键: 值）",
    ]
    assert result.stderr == "共发现 17 个问题。\n"


def test_check_reports_a_missing_catalogue(cli, tmp_path):
    result = cli("check", root=tmp_path)
    assert result.exit_code == 1
    assert "courses/catalogue.yaml: (文件): 缺少事项目录文件" in result.stdout.splitlines()


@pytest.mark.parametrize(
    ("relpath", "document", "expected"),
    [
        (
            "question_banks/x.yaml",
            valid_bank("bank") | {"items": ["senior-allowance", "no-such-item"]},
            "question_banks/x.yaml: items[1]: "
            "事项 “no-such-item” 不在目录 courses/catalogue.yaml 中",
        ),
        (
            "simulations/y.yaml",
            {"slug": "case", "title": "案例", "item": "no-such-item"},
            "simulations/y.yaml: item: 事项 “no-such-item” 不在目录 courses/catalogue.yaml 中",
        ),
        (
            "courses/no-such-item.yaml",
            valid_module("no-such-item"),
            "courses/no-such-item.yaml: item: "
            "事项 “no-such-item” 不在目录 courses/catalogue.yaml 中",
        ),
    ],
)
def test_documents_naming_an_unknown_item_are_reported(cli, root, relpath, document, expected):
    write_yaml(root / relpath, document)
    checked = cli("check", root=root)
    assert checked.exit_code == 1
    assert checked.stdout.splitlines() == [expected]
    synced = cli("sync", root=root)
    assert synced.exit_code == 1
    assert expected in synced.stdout.splitlines()
    assert items_by_slug() == {}


def test_duplicate_document_slugs_in_one_folder_are_reported(cli, root):
    write_yaml(root / "simulations" / "a.yaml", {"slug": "same", "title": "一"})
    write_yaml(root / "simulations" / "b.yaml", {"slug": "same", "title": "二"})
    result = cli("check", root=root)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["simulations/b.yaml: slug: 与 simulations/a.yaml 重复"]


# --------------------------------------------------------------------- sync


def test_first_sync_creates_every_item(cli, root):
    result = cli("sync", root=root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "事项目录：新增 3 项，更新 0 项，停用 0 项，恢复 0 项，未变 0 项。"
    )
    items = items_by_slug()
    assert set(items) == {"pension-death-benefit", "senior-allowance", "bus-card-top-up"}
    bus = items["bus-card-top-up"]
    assert bus.name == "公交卡充值"
    assert bus.category is ItemCategory.PAYMENT
    assert bus.channels == ["cloud"]
    assert bus.scopes == ["village"]
    assert bus.retired is False
    assert items["senior-allowance"].channels == ["on_site", "home_visit"]
    assert items["pension-death-benefit"].frequency == 4


def test_sync_commit_stays_inside_the_test_transaction(cli, root):
    assert cli("sync", root=root).exit_code == 0
    assert len(items_by_slug()) == 3
    # another connection sees nothing: the command only released a SAVEPOINT
    with db.engine.connect() as other:
        count = other.scalar(sa.select(sa.func.count()).select_from(ServiceItem))
    assert count == 0


def test_second_sync_changes_nothing(cli, root):
    assert cli("sync", root=root).exit_code == 0
    age_all_rows()
    before = snapshot()

    result = cli("sync", root=root)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "事项目录：3 项，均无变化。",
        "数据库已是最新，无需更改。",
    ]
    db.session.expire_all()
    assert snapshot() == before


def test_editing_one_summary_updates_only_that_item(cli, root):
    assert cli("sync", root=root).exit_code == 0
    age_all_rows()
    before = snapshot()
    edited = [dict(i) for i in ITEMS]
    edited[1]["summary"] = "年满80周岁的老人，带身份证和银行卡。"
    write_catalogue(root, edited)

    result = cli("sync", root=root)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "事项目录：新增 0 项，更新 1 项，停用 0 项，恢复 0 项，未变 2 项。",
        "  更新：senior-allowance",
    ]
    db.session.expire_all()
    after = snapshot()
    assert after["senior-allowance"][2] == "年满80周岁的老人，带身份证和银行卡。"
    assert after["senior-allowance"][4] > OLD
    assert after["senior-allowance"][0] == before["senior-allowance"][0]
    for slug in ("pension-death-benefit", "bus-card-top-up"):
        assert after[slug] == before[slug]


def test_removed_item_is_retired_not_deleted_and_villages_keep_it(cli, root):
    assert cli("sync", root=root).exit_code == 0
    allowance = items_by_slug()["senior-allowance"]
    allowance_id = allowance.id
    county = factories.county()
    village = factories.village(factories.township(county), "梅渚村", items=[allowance])
    db.session.commit()
    write_catalogue(root, [ITEMS[0], ITEMS[2]])

    result = cli("sync", root=root)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "事项目录：新增 0 项，更新 0 项，停用 1 项，恢复 0 项，未变 2 项。",
        "  停用：senior-allowance",
    ]
    db.session.expire_all()
    items = items_by_slug()
    assert set(items) == {"pension-death-benefit", "senior-allowance", "bus-card-top-up"}
    assert items["senior-allowance"].retired is True
    assert items["senior-allowance"].id == allowance_id
    assert items["pension-death-benefit"].retired is False
    assert [i.slug for i in db.session.get(Village, village.id).items] == ["senior-allowance"]

    # syncing the same tree again does not retire it a second time
    again = cli("sync", root=root)
    assert again.stdout.splitlines()[0] == "事项目录：2 项，均无变化。"

    # putting it back restores the same row
    write_catalogue(root, ITEMS)
    restored = cli("sync", root=root)
    assert restored.exit_code == 0, restored.output
    assert restored.stdout.splitlines() == [
        "事项目录：新增 0 项，更新 0 项，停用 0 项，恢复 1 项，未变 2 项。",
        "  恢复：senior-allowance",
    ]
    db.session.expire_all()
    back = items_by_slug()["senior-allowance"]
    assert back.id == allowance_id
    assert back.retired is False


def test_broken_tree_on_empty_database_writes_nothing(cli, root):
    write_catalogue(root, [*ITEMS, item("bad-one", "坏事项", category="户籍")])
    result = cli("sync", root=root)
    assert result.exit_code == 1
    assert "courses/catalogue.yaml: items[3](bad-one).category" in result.stdout
    assert result.stderr == "内容有 1 个问题，未做任何更改。\n"
    assert items_by_slug() == {}


def test_broken_tree_leaves_database_unchanged(cli, root):
    assert cli("sync", root=root).exit_code == 0
    age_all_rows()
    before = snapshot()
    # a valid edit, a removal and an addition ... plus one error elsewhere
    changed = [dict(ITEMS[0], summary="改过的说明。"), item("new-item", "新事项")]
    write_catalogue(root, changed)
    write_yaml(
        root / "simulations" / "case.yaml", {"slug": "case", "title": "案例", "item": "gone-item"}
    )

    result = cli("sync", root=root)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "simulations/case.yaml: item: 事项 “gone-item” 不在目录 courses/catalogue.yaml 中"
    ]
    assert "未做任何更改" in result.stderr
    db.session.expire_all()
    assert snapshot() == before


def test_renaming_a_slug_is_handled_without_a_crash(cli, root):
    assert cli("sync", root=root).exit_code == 0
    renamed = [dict(ITEMS[0], slug="pension-death-claim"), ITEMS[1], ITEMS[2]]
    write_catalogue(root, renamed)
    assert cli("check", root=root).exit_code == 0

    result = cli("sync", root=root)

    # A clear refusal naming the old slug, and nothing written — never a crash.
    assert result.exit_code == 1, result.output
    assert f"请改回原来的 slug “{ITEMS[0]['slug']}”" in result.output
    db.session.expire_all()
    slugs = set(db.session.scalars(sa.select(ServiceItem.slug)))
    assert "pension-death-claim" not in slugs


def test_two_items_can_swap_names(cli, root):
    assert cli("sync", root=root).exit_code == 0
    swapped = [
        dict(ITEMS[0], name=ITEMS[1]["name"]),
        dict(ITEMS[1], name=ITEMS[0]["name"]),
        ITEMS[2],
    ]
    write_catalogue(root, swapped)
    result = cli("sync", root=root)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    names = dict(db.session.execute(sa.select(ServiceItem.slug, ServiceItem.name)).all())
    assert names[ITEMS[0]["slug"]] == ITEMS[1]["name"]
    assert names[ITEMS[1]["slug"]] == ITEMS[0]["name"]


def test_non_text_item_reference_is_reported_not_crashed(cli, root):
    (root / "question_banks").mkdir(exist_ok=True)
    (root / "question_banks" / "odd.yaml").write_text(
        "slug: odd\ntitle: 奇怪\nitems:\n  - {a: 1}\n", encoding="utf-8"
    )
    result = cli("check", root=root)
    assert result.exit_code == 1
    assert "question_banks/odd.yaml: items[0]: 应为事项标识（slug）文本" in result.output


def test_reference_to_an_invalid_but_written_item_is_not_reported_twice(cli, root):
    broken = [dict(ITEMS[0], category="不存在的类别"), ITEMS[1], ITEMS[2]]
    write_catalogue(root, broken)
    (root / "question_banks").mkdir(exist_ok=True)
    (root / "question_banks" / "b.yaml").write_text(
        yaml.safe_dump(valid_bank("b") | {"items": [ITEMS[0]["slug"]]}, allow_unicode=True),
        encoding="utf-8",
    )
    result = cli("check", root=root)
    assert result.exit_code == 1
    assert "未知类别" in result.output
    assert "question_banks/b.yaml" not in result.output


def test_sync_then_export_of_the_shipped_content_round_trips(app, db_session, tmp_path):
    import shutil

    repo = Path(__file__).resolve().parents[2]
    copy = tmp_path / "content"
    shutil.copytree(repo / "courses", copy / "courses")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["content", "sync", "--root", str(copy)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in (copy / "courses").glob("*.yaml")}
    result = runner.invoke(args=["content", "export", "--root", str(copy)])
    assert result.exit_code == 0
    assert "写出 0 个" in result.output
    assert {p.name: p.read_bytes() for p in (copy / "courses").glob("*.yaml")} == before
    # An edit made in the database (as the web editor does) is what export writes out.
    from academy.learning.models import Module

    module = db.session.scalar(sa.select(Module).order_by(Module.slug))
    module.source = module.source.replace("title:", "title:", 1) + "# 网页编辑\n"
    db.session.commit()
    result = runner.invoke(args=["content", "export", "--root", str(copy)])
    assert f"已写出 courses/{module.slug}.yaml" in result.output
    assert (
        (copy / "courses" / f"{module.slug}.yaml")
        .read_text(encoding="utf-8")
        .endswith("# 网页编辑\n")
    )


def test_module_for_an_invalid_but_written_item_is_not_reported_twice(cli, root):
    write_catalogue(root, [dict(ITEMS[0], category="不存在的类别"), ITEMS[1], ITEMS[2]])
    write_yaml(root / "courses" / f"{ITEMS[0]['slug']}.yaml", valid_module(ITEMS[0]["slug"]))
    result = cli("check", root=root)
    assert result.exit_code == 1 and "未知类别" in result.output
    assert f"courses/{ITEMS[0]['slug']}.yaml" not in result.output
