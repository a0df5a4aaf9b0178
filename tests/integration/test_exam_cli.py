"""`flask exams finish-overdue` (cron) and `flask exams stats`."""

from __future__ import annotations

from datetime import timedelta

from academy.db import utcnow
from academy.exams import authoring, services
from academy.exams.models import AttemptState, FinishReason
from academy.extensions import db
from tests import factories


def _exam(world):
    bank = factories.question_bank(world.item)
    for _ in range(3):
        factories.question(bank, item=world.item, difficulty=1)
    exam = authoring.create_exam(
        world.expert, authoring.ExamData(title="限时考试", time_limit_minutes=20)
    )
    authoring.set_sections(
        world.expert,
        exam,
        [authoring.SectionData("知识", 1, item_ids=(world.item.id,), counts={"1": 2})],
    )
    authoring.publish_exam(world.expert, exam)
    return exam


def test_finish_overdue_submits_late_attempts_once(app, world):
    exam = _exam(world)
    late = services.start_attempt(exam, world.east_agent, None, now=utcnow() - timedelta(hours=1))
    running = services.start_attempt(exam, world.west_agent, None)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["exams", "finish-overdue"])
    assert result.exit_code == 0 and "到时自动交卷 1 份" in result.output
    db.session.expire_all()
    assert late.state == AttemptState.GRADED and late.finish_reason == FinishReason.TIMEOUT
    assert running.state == AttemptState.IN_PROGRESS
    again = runner.invoke(args=["exams", "finish-overdue"])
    assert "到时自动交卷 0 份" in again.output


def test_stats_prints_the_table(app, world):
    exam = _exam(world)
    attempt = services.start_attempt(exam, world.east_agent, None)
    services.submit_attempt(attempt)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["exams", "stats", str(exam.id)])
    assert result.exit_code == 0, result.output
    assert "已评分作答 1 份" in result.output
    assert result.output.count("\n#") == 2  # one line per drawn question
    assert result.output.count("样本不足") == 2  # one answer each: no label
    missing = runner.invoke(args=["exams", "stats", "999999"])
    assert missing.exit_code == 1 and "不存在" in missing.output
