"""Question banks load from content files; edits become versions; removals retire."""

import sqlalchemy as sa
import yaml

from academy.content.loader import ContentDoc
from academy.extensions import db
from academy.questions.models import Dimension, Question, QuestionVersion
from academy.questions.services import sync_banks
from tests.content_samples import valid_bank


def _doc(bank):
    return ContentDoc(
        f"question_banks/{bank['slug']}.yaml", bank, yaml.safe_dump(bank, allow_unicode=True)
    )


def test_sync_versions_and_retires(world):
    bank = valid_bank("bank", world.item.slug)
    first = sync_banks([_doc(bank)])
    assert len(first.created) == 8
    q01 = db.session.scalar(sa.select(Question).where(Question.key == "bank/q01"))
    assert (
        q01.item_id == world.item.id
        and q01.dimension == Dimension.KNOWLEDGE
        and q01.qtype == "multichoice"
    )
    again = sync_banks([_doc(bank)])
    assert not again.changed and again.unchanged == 8
    bank["questions"][0]["text"] = "谁有权申领死亡待遇？"
    bank["questions"][1]["difficulty"] = 2  # a tag change is not a new version
    edited = sync_banks([_doc(bank)])
    assert edited.revised == ["bank/q01"]
    versions = db.session.scalars(
        sa.select(QuestionVersion)
        .where(QuestionVersion.question_id == q01.id)
        .order_by(QuestionVersion.number)
    ).all()
    assert [v.number for v in versions] == [1, 2] and versions[0].data["text"] == "谁可以申领？"
    assert q01.current_version == 2
    bank["questions"].pop()
    gone = sync_banks([_doc(bank)])
    assert gone.retired == ["bank/q08"]
    essay = db.session.scalar(sa.select(Question).where(Question.key == "bank/q08"))
    assert essay is not None and essay.retired
