"""Question bank use-cases: loading banks from content files, banks and questions edited on
the web (every edit a new version), retiring, copying, importing and exporting files.

Services only flush; the request (or the CLI command) commits. Business-rule violations
raise DomainError (QuestionInvalid / ImportRejected carry every problem at once).

``spec_of(question, version=None)`` turns a stored version back into a ``spec.Question``;
the exam engine uses it to show and grade the version an attempt drew.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from academy.audit.services import record
from academy.catalogue.models import ServiceItem
from academy.content.loader import ContentDoc
from academy.content.problems import ContentInvalid, Problem
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.questions import diff, formats
from academy.questions.bankfile import parse_bank, question_problems, tag_rules
from academy.questions.models import BankSource, Dimension, Question, QuestionBank, QuestionVersion
from academy.questions.spec import Answer, ExportError
from academy.questions.spec import Question as Spec
from academy.questions.types import check_question_fields

VERSIONED = (
    "name",
    "text",
    "answers",
    "single",
    "pairs",
    "order",
    "general_feedback",
    "grader_info",
    "other_feedback",
    "text_format",
)


#: Questions in one import file (GIFT, Moodle XML or Excel), whatever the format allows.
MAX_IMPORT_QUESTIONS = 5000


def version_data(spec: Spec) -> dict:
    """The parts of a question that make up its content (versioned)."""
    data = spec.as_dict()
    # Through JSON, as stored: tuples become lists, so an unchanged question compares equal.
    return json.loads(json.dumps({k: data[k] for k in VERSIONED}))


@dataclass
class BankSyncReport:
    banks: int = 0
    created: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.revised or self.retired)

    def line(self) -> str | None:
        if not self.banks:
            return None
        return (
            f"题库：{self.banks} 个，新增题目 {len(self.created)} 道，修订 {len(self.revised)} 道"
            f"（生成新版本），停用 {len(self.retired)} 道，未变 {self.unchanged} 道。"
        )


def sync_banks(docs: list[ContentDoc]) -> BankSyncReport:
    """Upsert banks and questions by key (<bank slug>/<id>). A changed question gets a new
    version (attempts keep the version they drew); a question gone from its file is retired."""
    report = BankSyncReport()
    items = dict(db.session.execute(sa.select(ServiceItem.slug, ServiceItem.id)).all())
    banks = {b.slug: b for b in db.session.scalars(sa.select(QuestionBank))}
    questions = {q.key: q for q in db.session.scalars(sa.select(Question))}
    latest = {
        (v.question_id): v
        for v in db.session.scalars(
            sa.select(QuestionVersion)
            .join(Question)
            .where(QuestionVersion.number == Question.current_version)
        )
    }
    seen_keys: set[str] = set()
    clashes: list[Problem] = []
    for doc in docs:
        specs, problems = parse_bank(doc.data, doc.path, set(items))
        if problems:  # load_content has already refused such a tree; stay safe
            continue
        report.banks += 1
        data = doc.data
        bank = banks.get(data["slug"])
        if bank is not None and bank.source != BankSource.CONTENT:
            clashes.append(
                Problem(
                    doc.path,
                    "slug",
                    f"与{bank.source.label}的题库《{bank.title}》标识相同，请换一个 slug",
                )
            )
            continue
        if bank is None:
            bank = QuestionBank(slug=data["slug"], source=BankSource.CONTENT)
            db.session.add(bank)
            banks[bank.slug] = bank
        bank.title, bank.category, bank.path = data["title"], data.get("category"), doc.path
        bank.item_id = items.get(data.get("item")) if data.get("item") else None
        bank.retired = False
        for raw, spec in zip(data["questions"], specs, strict=True):
            key = f"{data['slug']}/{raw['id']}"
            seen_keys.add(key)
            content = version_data(spec)
            tags = dict(
                qtype=spec.type,
                name=spec.name[:200],
                item_id=items.get(spec.item),
                dimension=Dimension(spec.dimension) if spec.dimension else None,
                difficulty=spec.difficulty,
            )
            question = questions.get(key)
            if question is None:
                question = Question(key=key, bank=bank, current_version=1, **tags)
                question.versions = [QuestionVersion(number=1, data=content)]
                db.session.add(question)
                report.created.append(key)
                continue
            for attr, value in tags.items():
                setattr(question, attr, value)
            was_retired, question.retired = question.retired, False
            question.retired_reason = None
            current = latest.get(question.id)
            if current is None or current.data != content:
                question.current_version += 1
                db.session.add(
                    QuestionVersion(
                        question=question,
                        number=question.current_version,
                        data=content,
                        note="内容文件更新",
                    )
                )
                report.revised.append(key)
            elif was_retired:
                report.revised.append(key)
            else:
                report.unchanged += 1
    for key, question in questions.items():
        if (
            key not in seen_keys
            and not question.retired
            and question.bank.source == BankSource.CONTENT
        ):
            question.retired = True
            question.retired_reason = "已从内容文件中删除"
            report.retired.append(key)
    if clashes:
        raise ContentInvalid(clashes)
    db.session.flush()
    return report


# --- turning stored versions back into questions --------------------------------------


def spec_from_data(
    qtype: str,
    data: dict,
    *,
    item: str | None = None,
    dimension: str | None = None,
    difficulty: int | None = None,
    category: str | None = None,
) -> Spec:
    """A ``spec.Question`` from a version payload (``QuestionVersion.data``) and the tags."""
    return Spec(
        type=qtype,
        name=data.get("name", ""),
        text=data.get("text", ""),
        answers=[
            Answer(
                text=a.get("text", ""),
                fraction=float(a.get("fraction", 0.0)),
                feedback=a.get("feedback", "") or "",
                tolerance=a.get("tolerance"),
            )
            for a in data.get("answers", [])
        ],
        single=bool(data.get("single", True)),
        pairs=[(left, right) for left, right in data.get("pairs", [])],
        order=list(data.get("order", [])),
        general_feedback=data.get("general_feedback", "") or "",
        grader_info=data.get("grader_info", "") or "",
        other_feedback=data.get("other_feedback", "") or "",
        text_format=data.get("text_format", "moodle"),
        category=category,
        item=item,
        dimension=dimension,
        difficulty=difficulty,
    )


def _spec(question: Question, data: dict) -> Spec:
    return spec_from_data(
        question.qtype,
        data,
        item=question.item.slug if question.item else None,
        dimension=question.dimension.value if question.dimension else None,
        difficulty=question.difficulty,
        category=question.bank.category,
    )


def spec_of(question: Question, version: QuestionVersion | int | None = None) -> Spec:
    """The question as a ``spec.Question``: the content of ``version`` (a QuestionVersion of
    this question, a version number, or None for the current version) with the question's
    tags (item slug, dimension key, difficulty) and its bank's category.

    Public: the exam engine shows and grades the version an attempt drew with it
    (``types.get_type(question.qtype).grade(version.data, response)`` grades the payload).
    Raises LookupError for a version number the question does not have.
    """
    if isinstance(version, QuestionVersion):
        if version.question_id not in (None, question.id):
            raise LookupError("version of another question")
        return _spec(question, version.data)
    number = question.current_version if version is None else version
    data = db.session.scalar(
        sa.select(QuestionVersion.data).where(
            QuestionVersion.question_id == question.id, QuestionVersion.number == number
        )
    )
    if data is None:
        raise LookupError(f"question {question.id} has no version {number}")
    return _spec(question, data)


def current_versions(question_ids: Iterable[int]) -> dict[int, QuestionVersion]:
    """The current version of each question, in one query."""
    ids = list(question_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(Question.id.in_(ids), QuestionVersion.number == Question.current_version)
    )
    return {v.question_id: v for v in rows}


def specs_of(questions: Sequence[Question]) -> list[Spec]:
    """``spec_of`` for many questions (their bank and item loaded) in one query."""
    versions = current_versions(q.id for q in questions)
    return [_spec(q, versions[q.id].data) for q in questions]


# --- web banks and questions ----------------------------------------------------------


class QuestionInvalid(DomainError):
    """A question that cannot be saved; ``problems`` = [(field, reason)], all of them."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("；".join(reason for _, reason in problems), field=None)
        self.problems = problems


class ImportRejected(DomainError):
    """An import that cannot go in; ``problems`` = [(line or row, reason)], all of them."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        super().__init__(f"有 {len(problems)} 处问题，没有导入任何题目", field=None)
        self.problems = problems


@dataclass(frozen=True)
class Tags:
    """A question's tags, stored on the question (not versioned)."""

    item_id: int | None = None
    dimension: Dimension | None = None
    difficulty: int | None = None


def content_file(bank: QuestionBank) -> str:
    return bank.path or f"question_banks/{bank.slug}.yaml"


def read_only_message(bank: QuestionBank) -> str:
    return "此题属于县里统一维护的题库，不能在网页上直接修改"


def _editable(bank: QuestionBank) -> None:
    if not bank.editable:
        raise DomainError(read_only_message(bank))
    if bank.retired:
        raise DomainError(f"题库《{bank.title}》已停用")


def _slug_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def bank_slug(title: str, item: ServiceItem | None, source: BankSource) -> str:
    """An ASCII slug, unique among banks: web-<item slug or latin part of the title>[-n].
    The prefix keeps web and import banks apart from content files' slugs."""
    prefix = "import" if source == BankSource.IMPORT else "web"
    base = _slug_part(item.slug if item else title)[:60].strip("-") or "bank"
    base = f"{prefix}-{base}"
    taken = set(
        db.session.scalars(sa.select(QuestionBank.slug).where(QuestionBank.slug.like(f"{base}%")))
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def normalise_category(category: str | None) -> str | None:
    """``证明证照 / 居民身份证 /`` → ``证明证照/居民身份证``; empty → None."""
    if not category:
        return None
    parts = [p.strip() for p in category.replace("\\", "/").split("/")]
    return "/".join(p for p in parts if p) or None


def create_bank(
    actor,
    title: str,
    item: ServiceItem | None = None,
    category: str | None = None,
    source: BankSource = BankSource.WEB,
) -> QuestionBank:
    title = " ".join((title or "").split())
    if not title:
        raise DomainError("请填写题库名称", field="title")
    if len(title) > 120:
        raise DomainError("题库名称不能超过 120 个字", field="title")
    category = normalise_category(category)
    if category and len(category) > 200:
        raise DomainError("类别路径不能超过 200 个字", field="category")
    if source == BankSource.CONTENT:
        raise DomainError("县里统一维护的题库不能在网页上新建")
    bank = QuestionBank(
        slug=bank_slug(title, item, source),
        title=title,
        item_id=item.id if item else None,
        category=category,
        source=source,
    )
    db.session.add(bank)
    db.session.flush()
    record(actor, "question_bank.created", bank, f"新建题库《{title}》（{source.label}）")
    return bank


def _items_by_slug() -> dict[str, tuple[int, bool]]:
    rows = db.session.execute(sa.select(ServiceItem.slug, ServiceItem.id, ServiceItem.retired))
    return {slug: (item_id, retired) for slug, item_id, retired in rows}


def tags_of_spec(spec: Spec) -> Tags:
    """The spec's tags for storing; an unknown or retired item slug is a DomainError."""
    item_id = None
    if spec.item:
        found = db.session.execute(
            sa.select(ServiceItem.id, ServiceItem.retired).where(ServiceItem.slug == spec.item)
        ).first()
        if found is None:
            raise DomainError(f"事项 “{spec.item}” 不在目录中", field="item")
        if found.retired:
            raise DomainError(f"事项 “{spec.item}” 已停用，请选择其他事项", field="item")
        item_id = found.id
    return Tags(
        item_id=item_id,
        dimension=Dimension(spec.dimension) if spec.dimension else None,
        difficulty=spec.difficulty,
    )


def validate(spec: Spec) -> None:
    """Raise QuestionInvalid with every reason ``spec`` cannot be saved from the editor."""
    problems = question_problems(spec, require_item=True)
    if problems:
        raise QuestionInvalid(problems)


def _new_question(actor, bank: QuestionBank, spec: Spec, tags: Tags, note: str) -> Question:
    question = Question(
        key=f"{bank.slug}/{secrets.token_hex(6)}",
        bank=bank,
        qtype=spec.type,
        name=spec.name[:200],
        item_id=tags.item_id,
        dimension=tags.dimension,
        difficulty=tags.difficulty,
        current_version=1,
    )
    question.versions = [
        QuestionVersion(
            number=1,
            data=version_data(spec),
            author_id=getattr(actor, "id", None),
            note=note[:200],
        )
    ]
    db.session.add(question)
    return question


def create_question(
    actor, bank: QuestionBank, spec: Spec, tags: Tags | None = None, note: str | None = None
) -> Question:
    """A new question in a web or import bank. ``tags`` default to the spec's own."""
    _editable(bank)
    validate(spec)
    tags = tags or tags_of_spec(spec)
    question = _new_question(actor, bank, spec, tags, (note or "").strip() or "网页创建")
    db.session.flush()
    record(
        actor,
        "question.created",
        question,
        f"在题库《{bank.title}》新建题目“{question.name}”",
        {"bank": bank.slug, "type": spec.type},
    )
    return question


def revise_question(
    actor, question: Question, spec: Spec, note: str | None = None
) -> QuestionVersion | None:
    """Save the content of ``spec`` as the question's next version; None when nothing in
    the content changed (no version is made). Tags are not part of a version: the spec's
    are ignored here and checked as stored on the question (change them with ``set_tags``)."""
    _editable(question.bank)
    if spec.type != question.qtype:
        raise DomainError("题型不能修改；如需换题型，请复制为新题", field="type")
    validate(
        dataclasses.replace(
            spec,
            item=question.item.slug if question.item else None,
            dimension=question.dimension.value if question.dimension else None,
            difficulty=question.difficulty,
        )
    )
    content = version_data(spec)
    current = db.session.scalar(
        sa.select(QuestionVersion).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.number == question.current_version,
        )
    )
    if current is not None and current.data == content:
        return None
    question.current_version += 1
    question.name = spec.name[:200]
    version = QuestionVersion(
        question=question,
        number=question.current_version,
        data=content,
        author_id=getattr(actor, "id", None),
        note=((note or "").strip() or "网页编辑")[:200],
    )
    db.session.add(version)
    db.session.flush()
    changed = diff.diff_versions(current.data if current else None, content, question.qtype)
    record(
        actor,
        "question.revised",
        question,
        f"修订题目“{question.name}”为第 {version.number} 版",
        {"version": version.number, "changes": [str(c) for c in changed][:20]},
    )
    return version


def _tag_values(tags: Tags) -> dict:
    return {
        "item_id": tags.item_id,
        "dimension": tags.dimension.value if tags.dimension else None,
        "difficulty": tags.difficulty,
    }


def set_tags(actor, question: Question, tags: Tags) -> bool:
    """Store the question's item, dimension and difficulty (audited); False if unchanged."""
    _editable(question.bank)
    probe = Spec(
        type=question.qtype,
        name=question.name,
        text="",
        item="?" if tags.item_id else None,
        dimension=tags.dimension.value if tags.dimension else None,
        difficulty=tags.difficulty,
    )
    problems = tag_rules(probe, require_item=True)
    if problems:
        raise QuestionInvalid(problems)
    if tags.item_id is not None:
        item = db.session.get(ServiceItem, tags.item_id)
        if item is None or (item.retired and tags.item_id != question.item_id):
            raise DomainError("请选择目录中在用的事项", field="item")
    before = _tag_values(Tags(question.item_id, question.dimension, question.difficulty))
    after = _tag_values(tags)
    if before == after:
        return False
    question.item_id, question.dimension, question.difficulty = (
        tags.item_id,
        tags.dimension,
        tags.difficulty,
    )
    db.session.flush()
    record(
        actor,
        "question.tagged",
        question,
        f"修改题目“{question.name}”的标签（事项、维度、难度）",
        {"before": before, "after": after},
    )
    return True


def retire_question(actor, question: Question, reason: str) -> None:
    """Retired questions are kept (attempts keep their versions) but never drawn again."""
    _editable(question.bank)
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("请填写停用原因", field="reason")
    if len(reason) > 200:
        raise DomainError("停用原因不能超过 200 个字", field="reason")
    if question.retired:
        raise DomainError("这道题已经停用")
    question.retired, question.retired_reason = True, reason
    db.session.flush()
    record(actor, "question.retired", question, f"停用题目“{question.name}”：{reason}")


def restore_question(actor, question: Question, reason: str = "") -> None:
    _editable(question.bank)
    reason = " ".join((reason or "").split())[:200]
    if not question.retired:
        raise DomainError("这道题正在使用，无需恢复")
    question.retired, question.retired_reason = False, None
    db.session.flush()
    record(
        actor,
        "question.restored",
        question,
        f"恢复使用题目“{question.name}”" + (f"：{reason}" if reason else ""),
    )


def copy_question(actor, question: Question, bank: QuestionBank) -> Question:
    """A new question in a web or import bank with the current version of ``question``
    (e.g. a content-file question to adapt on the web) and the same tags."""
    _editable(bank)
    spec = spec_of(question)
    tags = Tags(question.item_id, question.dimension, question.difficulty)
    note = f"复制自《{question.bank.title}》“{question.name}”第 {question.current_version} 版"
    copy = _new_question(actor, bank, spec, tags, note)
    db.session.flush()
    record(
        actor,
        "question.copied",
        copy,
        f"将题目“{question.name}”复制到题库《{bank.title}》",
        {"from": question.key, "version": question.current_version},
    )
    return copy


# --- importing and exporting files ----------------------------------------------------


@dataclass(frozen=True)
class ImportDefaults:
    """Tags for questions whose file carries none (item slug, dimension key, 1–3)."""

    item: str | None = None
    dimension: str | None = None
    difficulty: int | None = None


def _where(spec: Spec, position: int) -> str:
    return f"第 {position} 题 “{spec.name}”"


def check_import(
    specs: Sequence[Spec], defaults: ImportDefaults | None = None
) -> tuple[list[Spec], list[tuple[int | None, str]]]:
    """The questions with the defaults filled in, and every problem as (line or row,
    reason): what grading needs (check_question) and the tags exams draw by."""
    defaults = defaults or ImportDefaults()
    if len(specs) > MAX_IMPORT_QUESTIONS:
        return [], [
            (
                None,
                f"一个文件最多导入 {MAX_IMPORT_QUESTIONS:,} 道题，这个文件有 {len(specs):,} 道；"
                "请拆成几个文件分别导入。",
            )
        ]
    items = _items_by_slug()
    out: list[Spec] = []
    problems: list[tuple[int | None, str]] = []
    if not specs:
        problems.append((None, "文件里没有题目"))
    for position, spec in enumerate(specs, 1):
        spec = dataclasses.replace(
            spec,
            item=spec.item or defaults.item,
            dimension=spec.dimension or defaults.dimension,
            difficulty=spec.difficulty if spec.difficulty is not None else defaults.difficulty,
        )
        out.append(spec)
        reasons = [r for _, r in check_question_fields(spec)]
        for field_name, reason in tag_rules(spec, require_item=True):
            missing = getattr(spec, field_name) in (None, "")
            reasons.append(reason + ("（文件中未标注，可在导入页选择默认值）" if missing else ""))
        if spec.item:
            found = items.get(spec.item)
            if found is None:
                reasons.append(f"事项 “{spec.item}” 不在目录中")
            elif found[1]:
                reasons.append(f"事项 “{spec.item}” 已停用")
        for reason in dict.fromkeys(reasons):
            problems.append((spec.line, f"{_where(spec, position)}：{reason}"))
    return out, problems


def import_questions(
    actor,
    bank: QuestionBank,
    specs: Sequence[Spec],
    defaults: ImportDefaults | None = None,
    source: str = "",
) -> list[Question]:
    """Create every question of an import in ``bank``, or none: ImportRejected lists every
    problem. One audit event for the whole import."""
    _editable(bank)
    checked, problems = check_import(specs, defaults)
    if problems:
        raise ImportRejected(problems)
    items = _items_by_slug()
    note = f"文件导入：{source}"[:200] if source else "文件导入"
    created = []
    for spec in checked:
        tags = Tags(
            item_id=items[spec.item][0] if spec.item and spec.item in items else None,
            dimension=Dimension(spec.dimension) if spec.dimension else None,
            difficulty=spec.difficulty,
        )
        created.append(_new_question(actor, bank, spec, tags, note))
    db.session.flush()
    counts: dict[str, int] = {}
    for spec in checked:
        counts[spec.type] = counts.get(spec.type, 0) + 1
    record(
        actor,
        "question.imported",
        bank,
        f"向题库《{bank.title}》导入 {len(created)} 道题" + (f"（{source}）" if source else ""),
        {"count": len(created), "types": counts, "file": source},
    )
    return created


def common_category(specs: Sequence[Spec]) -> str | None:
    """The category every question of a file shares (a new import bank takes it)."""
    categories = {s.category for s in specs}
    return normalise_category(categories.pop()) if len(categories) == 1 else None


def export_file(specs: Sequence[Spec], fmt: str) -> bytes:
    """The questions as a file of format ``fmt`` (``formats.FORMATS``); ExportError lists
    every question the format cannot carry (no file is produced then)."""
    if not specs:
        raise ExportError([(0, "没有可导出的题目")])
    return formats.get(fmt).export(specs)


def bank_questions(bank: QuestionBank, include_retired: bool = False) -> list[Question]:
    stmt = (
        sa.select(Question)
        .options(joinedload(Question.item), joinedload(Question.bank))
        .where(Question.bank_id == bank.id)
        .order_by(Question.id)
    )
    if not include_retired:
        stmt = stmt.where(Question.retired.is_(False))
    return list(db.session.scalars(stmt))


def validate_bank_file(display: str, data, bundle) -> list[Problem]:
    """The content validator of question_banks/ (registered in academy.register_content_kinds)."""
    return parse_bank(data, display, bundle.known_slugs)[1]
