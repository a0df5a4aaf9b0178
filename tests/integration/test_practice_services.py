"""Practice services: sessions, Leitner cards and the answer log in the database."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from academy.errors_domain import DomainError
from academy.extensions import db
from academy.practice import services
from academy.practice.models import PracticeAnswer, PracticeCard, PracticeSession
from academy.questions.models import QuestionVersion
from academy.questions.services import version_data
from academy.questions.spec import Answer
from academy.questions.spec import Question as Spec
from tests import factories

TODAY = date(2026, 3, 10)
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture
def agent(world):
    return world.east_agent


def _card(agent, question):
    return db.session.scalar(
        sa.select(PracticeCard).where(
            PracticeCard.agent_id == agent.id, PracticeCard.question_id == question.id
        )
    )


def _answers():
    return db.session.scalar(sa.select(sa.func.count()).select_from(PracticeAnswer))


def test_wrong_answer_comes_back_the_next_day_first(world, agent):
    wrong, other = factories.practice_question(world.item), factories.practice_question(world.item)
    result = services.answer(agent, wrong, False, today=TODAY)
    assert result.fraction == 0.0 and not result.right and result.verdict == "答错了"
    assert "明天再练" in result.comes_back and result.feedback == "记住要点。"
    card = _card(agent, wrong)
    assert (card.box, card.due_on, card.times_seen, card.times_wrong) == (1, TOMORROW, 1, 1)
    # Today it is not due yet: the new question comes first.
    assert services.start_session(agent, today=TODAY).question_ids[0] == other.id
    # Tomorrow it is the first question.
    assert services.start_session(agent, today=TOMORROW).question_ids[0] == wrong.id


def test_right_answers_push_the_card_further(world, agent):
    q = factories.practice_question(world.item)
    first = services.answer(agent, q, True, today=TODAY)
    assert first.right and (first.card.box, first.card.due_on) == (2, TODAY + timedelta(days=2))
    second = services.answer(agent, q, True, today=TODAY + timedelta(days=2))
    assert (second.card.box, second.card.due_on) == (3, TODAY + timedelta(days=6))
    wrong = factories.practice_question(world.item)
    services.answer(agent, wrong, False, today=TODAY + timedelta(days=2))
    # On day 3 only the wrong one is due; the pushed one waits for day 6.
    session = services.start_session(agent, size=1, today=TODAY + timedelta(days=3))
    assert session.question_ids == [wrong.id]
    assert services.overview(agent, today=TODAY + timedelta(days=3)).boxes == [1, 0, 1, 0, 0]


def test_a_session_never_repeats_a_question(world, agent):
    qs = [factories.practice_question(world.item) for _ in range(4)]
    session = services.start_session(agent, size=10, today=TODAY)
    assert sorted(session.question_ids) == sorted(q.id for q in qs)
    seen = []
    while (q := services.next_question(session)) is not None:
        seen.append(q.id)
        services.answer(agent, q, True, session=session, today=TODAY)
    assert seen == session.question_ids
    assert session.finished_at is not None
    with pytest.raises(DomainError):
        services.answer(agent, qs[0], True, session=session, today=TODAY)
    assert _answers() == 4


def test_answering_twice_in_an_open_session_is_refused(world, agent):
    a, _b = factories.practice_question(world.item), factories.practice_question(world.item)
    session = services.start_session(agent, today=TODAY)
    services.answer(agent, a, True, session=session, today=TODAY)
    with pytest.raises(DomainError, match="已经答过"):
        services.answer(agent, a, False, session=session, today=TODAY)
    assert _card(agent, a).box == 2 and _answers() == 1


def test_retired_and_essay_questions_are_not_drawn(world, agent):
    live = factories.practice_question(world.item)
    retired = factories.practice_question(world.item)
    essay = factories.practice_question(world.item, qtype="essay")
    factories.practice_question(world.item, qtype="description")
    # a card that was due before its question was retired
    services.answer(agent, retired, False, today=TODAY - timedelta(days=3))
    retired.retired = True
    session = services.start_session(agent, today=TODAY)
    assert session.question_ids == [live.id]
    with pytest.raises(DomainError):
        services.answer(agent, essay, "我会先安抚。", today=TODAY)
    assert services.overview(agent, today=TODAY).due_today == 0


def test_practise_one_item_only(world, agent):
    other_item = factories.item("残疾人证办理", frequency=5)
    world.east_village.items.append(other_item)
    mine = factories.practice_question(world.item)
    factories.practice_question(other_item)
    session = services.start_session(agent, item_id=world.item.id, today=TODAY)
    assert session.question_ids == [mine.id] and session.item_id == world.item.id
    elsewhere = factories.item("不在本村的事项")
    factories.practice_question(elsewhere)
    with pytest.raises(DomainError, match="不在本村社"):
        services.start_session(agent, item_id=elsewhere.id, today=TODAY)


def test_new_questions_come_from_the_weakest_item(world, agent):
    strong = factories.item("已掌握的事项", frequency=5)
    world.east_village.items.append(strong)
    weak_qs = [factories.practice_question(world.item) for _ in range(3)]
    strong_qs = [factories.practice_question(strong) for _ in range(3)]
    # Both practised; the strong item's answers are right, world.item's wrong.
    services.answer(agent, weak_qs[0], False, today=TODAY - timedelta(days=5))
    services.answer(agent, strong_qs[0], True, today=TODAY - timedelta(days=1))  # due in 2 days
    ranking = services.weak_items(agent)
    assert [w.item.id for w in ranking] == [world.item.id, strong.id]
    assert ranking[0].weakness.accuracy == 0.0 and ranking[1].weakness.accuracy == 1.0
    session = services.start_session(agent, size=3, today=TODAY)
    # the due card first, then new questions of the weaker item
    assert session.question_ids == [weak_qs[0].id, weak_qs[1].id, weak_qs[2].id]


def test_tampered_answer_changes_nothing(world, agent):
    q = factories.practice_question(world.item, qtype="multichoice")
    session = services.start_session(agent, today=TODAY)
    for raw in ([7], ["0"], [0, 1], "x"):
        with pytest.raises(DomainError, match=r"答案无效|只能选一个"):
            services.answer(agent, q, raw, session=session, today=TODAY)
    with pytest.raises(DomainError, match="请先作答"):
        services.answer(agent, q, None, session=session, today=TODAY)
    assert _answers() == 0 and _card(agent, q) is None


def test_question_outside_the_session_is_refused(world, agent):
    q, outside = factories.practice_question(world.item), factories.practice_question(world.item)
    session = services.start_session(agent, size=1, today=TODAY)
    assert session.question_ids == [q.id]
    with pytest.raises(DomainError, match="不在本次练习"):
        services.answer(agent, outside, True, session=session, today=TODAY)
    assert _answers() == 0


def test_grading_uses_the_current_version(world, agent):
    q = factories.practice_question(world.item)  # version 1: the right answer is "true"
    flipped = Spec(
        type="truefalse",
        name=q.name,
        text="改过的题干",
        answers=[Answer("true", 0.0), Answer("false", 1.0)],
    )
    v2 = QuestionVersion(question=q, number=2, data=version_data(flipped))
    db.session.add(v2)
    q.current_version = 2
    db.session.flush()
    result = services.answer(agent, q, False, today=TODAY)
    assert result.right and result.answer.version_id == v2.id


def test_summary_counts_revisits_and_comebacks(world, agent):
    second = factories.item("第二个事项")
    world.east_village.items.append(second)
    qs = [factories.practice_question(world.item) for _ in range(3)]
    qs.append(factories.practice_question(second))
    session = services.start_session(agent, today=TODAY)
    answers = {qs[0].id: False, qs[1].id: False, qs[2].id: True, qs[3].id: False}
    while (q := services.next_question(session)) is not None:
        services.answer(agent, q, answers[q.id], session=session, today=TODAY)
    summary = services.session_summary(session, today=TODAY)
    assert (summary.right, summary.answered, summary.total) == (1, 4, 4)
    assert [(r.item.id, r.wrong) for r in summary.revisit] == [(world.item.id, 2), (second.id, 1)]
    assert summary.comeback == ["3 道题明天再练", "1 道题后天再练"]


def test_starting_again_closes_the_open_session(world, agent):
    factories.practice_question(world.item)
    first = services.start_session(agent, today=TODAY)
    assert services.open_session(agent).id == first.id
    second = services.start_session(agent, today=TODAY)
    assert first.finished_at is not None and services.open_session(agent).id == second.id
    with pytest.raises(DomainError, match="已经结束"):
        services.answer(agent, services.next_question(first), True, session=first, today=TODAY)


def test_no_questions_is_a_clear_error(world, agent):
    with pytest.raises(DomainError, match="没有可以练习的题目"):
        services.start_session(agent, today=TODAY)
    with pytest.raises(DomainError, match="1 到 30"):
        services.start_session(agent, size=0, today=TODAY)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PracticeSession)) == 0


def test_overview_of_a_new_agent(world, agent):
    factories.practice_question(world.item)
    ov = services.overview(agent, today=TODAY)
    assert (ov.cards, ov.due_today, ov.boxes, ov.session) == (0, 0, [0] * 5, None)
    assert [w.item.id for w in ov.weak] == [world.item.id]
    assert ov.weak[0].weakness.reason.startswith("还没练过")
