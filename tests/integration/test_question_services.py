"""Question use-cases: web banks, versioned edits, tags, retire, copy, import, export."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml

from academy.audit.models import AuditEvent
from academy.content.loader import ContentDoc
from academy.content.problems import ContentInvalid
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.questions import formats, services
from academy.questions.models import BankSource, Dimension, Question, QuestionBank
from academy.questions.services import ImportDefaults, Tags
from academy.questions.spec import ExportError
from tests import factories
from tests.content_samples import valid_bank
from tests.factories import SPEC_KINDS, question_spec


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def content_question(world) -> Question:
    bank = valid_bank("pension-bank", world.item.slug)
    doc = ContentDoc(
        "question_banks/sub/pension-bank.yaml", bank, yaml.safe_dump(bank, allow_unicode=True)
    )
    services.sync_banks([doc])
    return db.session.scalar(sa.select(Question).where(Question.key == "pension-bank/q01"))


def test_bank_slugs_are_ascii_unique_and_prefixed(world):
    first = services.create_bank(
        world.expert, "居民身份证 网页题库", category=" 证明证照 / 身份证 /"
    )
    second = services.create_bank(world.expert, "居民身份证 网页题库")
    by_item = services.create_bank(world.expert, "养老", item=world.item)
    imported = services.create_bank(world.expert, "Moodle 2026", source=BankSource.IMPORT)
    assert (first.slug, second.slug) == ("web-bank", "web-bank-2")
    assert first.category == "证明证照/身份证" and first.source == BankSource.WEB
    assert by_item.slug == f"web-{world.item.slug}" and by_item.item_id == world.item.id
    assert imported.slug == "import-moodle-2026"
    with pytest.raises(DomainError, match="题库名称"):
        services.create_bank(world.expert, "  ")
    assert len(events("question_bank.created")) == 4


def test_create_revise_and_a_no_op_edit(world):
    bank = factories.web_bank()
    spec = question_spec("multichoice", world.item.slug)
    question = services.create_question(world.expert, bank, spec)
    assert question.current_version == 1 and question.item_id == world.item.id
    assert question.dimension == Dimension.KNOWLEDGE and question.difficulty == 2
    assert question.versions[0].author_id == world.expert.id
    assert services.revise_question(world.expert, question, spec) is None  # nothing changed
    assert question.current_version == 1
    spec.text = "村民补领身份证，下列哪项正确？"
    spec.answers[1].fraction = 0.0
    version = services.revise_question(world.expert, question, spec, "按新规修改")
    assert version.number == 2 == question.current_version
    assert version.note == "按新规修改" and version.author_id == world.expert.id
    unnamed = services.revise_question(world.admin, question, question_spec("multichoice"), "")
    assert unnamed.note == "网页编辑"
    old = services.spec_of(question, 1)
    assert old.text != spec.text and services.spec_of(question, version).text == spec.text
    assert services.spec_of(question).name == unnamed.data["name"]
    assert old.item == world.item.slug and old.dimension == "knowledge"
    with pytest.raises(LookupError):
        services.spec_of(question, 9)
    revised = events("question.revised")
    assert len(revised) == 2 and "题干" in " ".join(revised[0].details["changes"])


def test_invalid_questions_report_every_problem_with_its_field(world):
    bank = factories.web_bank()
    spec = question_spec("multichoice", None, dimension=None, difficulty=None)
    spec.answers = spec.answers[:2]
    spec.answers[0].fraction = 0.5
    with pytest.raises(services.QuestionInvalid) as err:
        services.create_question(world.expert, bank, spec)
    fields = {field for field, _ in err.value.problems}
    assert fields == {"item", "dimension", "difficulty", "answers"}
    reasons = " ".join(r for _, r in err.value.problems)
    assert "单选题需要一个得分 100% 的正确选项" in reasons and "至少需要 3 个选项" in reasons
    essay = question_spec("essay", world.item.slug, grader_info=" ")
    with pytest.raises(services.QuestionInvalid, match="评分要点"):
        services.create_question(world.expert, bank, essay)
    assert count(Question) == 0


def test_tags_are_not_versioned_but_audited(world):
    bank = factories.web_bank()
    question = factories.web_question(bank, "truefalse", world.item)
    other = factories.item("另一个事项")
    assert not services.set_tags(
        world.expert, question, Tags(world.item.id, Dimension.KNOWLEDGE, 2)
    )
    assert services.set_tags(world.expert, question, Tags(other.id, Dimension.EMERGENCY, 3))
    assert (question.item_id, question.dimension, question.difficulty) == (
        other.id,
        Dimension.EMERGENCY,
        3,
    )
    assert question.current_version == 1
    (event,) = events("question.tagged")
    assert event.details["before"]["difficulty"] == 2 and event.details["after"]["difficulty"] == 3
    with pytest.raises(services.QuestionInvalid):
        services.set_tags(world.expert, question, Tags(None, None, None))


def test_retire_and_restore_with_reason(world):
    question = factories.web_question(factories.web_bank(), "ordering", world.item)
    with pytest.raises(DomainError, match="停用原因"):
        services.retire_question(world.expert, question, " ")
    services.retire_question(world.expert, question, "政策已调整")
    assert question.retired and question.retired_reason == "政策已调整"
    with pytest.raises(DomainError, match="已经停用"):
        services.retire_question(world.expert, question, "again")
    services.restore_question(world.expert, question, "")
    assert not question.retired and question.retired_reason is None
    assert [e.summary for e in events("question.retired")] == [
        f"停用题目“{question.name}”：政策已调整"
    ]
    assert len(events("question.restored")) == 1


def test_content_questions_are_read_only_and_can_be_copied(world):
    question = content_question(world)
    assert question.bank.path == "question_banks/sub/pension-bank.yaml"
    message = "此题属于县里统一维护的题库，不能在网页上直接修改"
    for call in (
        lambda: services.revise_question(world.expert, question, services.spec_of(question)),
        lambda: services.retire_question(world.expert, question, "x"),
        lambda: services.set_tags(world.expert, question, Tags(world.item.id, None, 1)),
        lambda: services.create_question(world.expert, question.bank, question_spec("essay")),
    ):
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.message == message
    target = factories.web_bank()
    copy = services.copy_question(world.expert, question, target)
    assert copy.bank is target and copy.current_version == 1
    assert copy.versions[0].data == services.version_data(services.spec_of(question))
    assert (copy.item_id, copy.dimension, copy.difficulty) == (
        question.item_id,
        question.dimension,
        question.difficulty,
    )
    assert "复制自《测试题库》" in copy.versions[0].note
    with pytest.raises(DomainError):
        services.copy_question(world.expert, copy, question.bank)


def test_content_sync_refuses_a_slug_held_by_a_web_bank(world):
    services.create_bank(world.expert, "x", item=world.item)  # slug web-<item>
    bank = valid_bank(f"web-{world.item.slug}", world.item.slug)
    doc = ContentDoc(f"question_banks/{bank['slug']}.yaml", bank, "")
    with pytest.raises(ContentInvalid) as err:
        services.sync_banks([doc])
    assert err.value.problems[0].field == "slug"


def test_sync_records_why_a_question_was_retired(world):
    content_question(world)
    bank = valid_bank("pension-bank", world.item.slug)
    bank["questions"].pop()
    services.sync_banks([ContentDoc("question_banks/sub/pension-bank.yaml", bank, "")])
    gone = db.session.scalar(sa.select(Question).where(Question.key == "pension-bank/q08"))
    assert gone.retired and gone.retired_reason == "已从内容文件中删除"


def test_import_is_all_or_nothing_and_uses_defaults(world):
    bank = factories.web_bank()
    specs = [question_spec(k, None, dimension=None) for k in ("multichoice", "truefalse")]
    broken = question_spec("shortanswer", "no-such-item")
    broken.answers[0].fraction = 0.9
    broken.answers[1].fraction = 0.9
    broken.line = 12
    _, problems = services.check_import([*specs, broken])
    assert [line for line, _ in problems].count(12) == 2
    text = " ".join(reason for _, reason in problems)
    assert "第 1 题" in text and "缺少事项" in text and "可在导入页选择默认值" in text
    assert "事项 “no-such-item” 不在目录中" in text and "得分 100% 的答案" in text
    before = count(Question)
    with pytest.raises(services.ImportRejected):
        services.import_questions(world.expert, bank, [*specs, broken])
    assert count(Question) == before
    defaults = ImportDefaults(item=world.item.slug, dimension="etiquette", difficulty=3)
    created = services.import_questions(world.expert, bank, specs, defaults, source="a.gift")
    assert [q.item_id for q in created] == [world.item.id] * 2
    assert {q.dimension for q in created} == {Dimension.ETIQUETTE}
    assert {q.difficulty for q in created} == {2}  # the file's own difficulty wins
    assert created[0].versions[0].note == "文件导入：a.gift"
    (event,) = events("question.imported")
    assert event.details["count"] == 2 and event.object_id == bank.id


@pytest.mark.parametrize("fmt", ["gift", "xml", "xlsx"])
def test_export_then_import_gives_the_same_questions(world, fmt):
    source = factories.web_bank("源题库")
    for kind in SPEC_KINDS:
        factories.web_question(source, kind, world.item)
    questions = services.bank_questions(source)
    specs = services.specs_of(questions)
    data = services.export_file(specs, fmt)
    target = factories.web_bank("目标题库")
    created = services.import_questions(world.expert, target, formats.parse(data, fmt).questions)
    assert len(created) == len(questions)
    for old, new in zip(questions, created, strict=True):
        assert (new.qtype, new.item_id, new.dimension, new.difficulty) == (
            old.qtype,
            old.item_id,
            old.dimension,
            old.difficulty,
        )
        assert services.version_data(services.spec_of(new)) == services.version_data(
            services.spec_of(old)
        ), (fmt, old.qtype)


def test_export_refuses_what_a_format_cannot_carry(world):
    bank = factories.web_bank()
    factories.web_question(bank, "ordering", world.item, general_feedback="按流程办理")
    with pytest.raises(ExportError) as err:
        services.export_file(services.specs_of(services.bank_questions(bank)), "gift")
    assert "总体反馈" in err.value.problems[0][1]
    assert services.export_file(services.specs_of(services.bank_questions(bank)), "xml")


def test_spec_of_many_questions_is_one_query(world, app):
    bank = factories.web_bank()
    for kind in SPEC_KINDS:
        factories.web_question(bank, kind, world.item)
    questions = services.bank_questions(bank)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        specs = services.specs_of(questions)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert len(specs) == len(SPEC_KINDS) and len(statements) == 1
    assert db.session.get(QuestionBank, bank.id).editable
