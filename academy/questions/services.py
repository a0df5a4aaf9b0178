"""Question bank use-cases: loading banks from content files, versioning edits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from academy.catalogue.models import ServiceItem
from academy.content.loader import ContentDoc
from academy.extensions import db
from academy.questions.bankfile import parse_bank
from academy.questions.models import BankSource, Dimension, Question, QuestionBank, QuestionVersion
from academy.questions.spec import Question as Spec

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

    def line(self) -> str:
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
    for doc in docs:
        specs, problems = parse_bank(doc.data, doc.path, set(items))
        if problems:  # load_content has already refused such a tree; stay safe
            continue
        report.banks += 1
        data = doc.data
        bank = banks.get(data["slug"])
        if bank is None:
            bank = QuestionBank(slug=data["slug"], source=BankSource.CONTENT)
            db.session.add(bank)
            banks[bank.slug] = bank
        bank.title, bank.category = data["title"], data.get("category")
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
            report.retired.append(key)
    db.session.flush()
    return report
