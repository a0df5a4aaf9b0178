"""xAPI statements of learning events, China-time ranges, export range checks."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from academy.activity import rules
from academy.activity.models import ObjectType, Verb


@dataclass
class Event:
    id: int = 41
    at: datetime = datetime(2026, 3, 5, 1, 2, 3, 456789)
    agent_id: int | None = 7
    user_id: int | None = None
    verb: Verb = Verb.ANSWERED
    object_type: ObjectType = ObjectType.PRACTICE
    object_id: str = "12/materials"
    object_name: str = "城乡居民养老保险参保登记 · 练习一：选材料"
    township_id: int | None = 3
    village_id: int | None = 9
    result: dict | None = field(
        default_factory=lambda: {"success": False, "errors": 2, "response": "a[,]c"}
    )
    context: dict | None = field(
        default_factory=lambda: {"parent": "module:12", "part": "materials"}
    )


def test_statement_has_the_xapi_shape():
    s = rules.to_statement(
        Event(),
        agent_name="张东",
        township_name="东镇",
        village_name="东一村",
        home_page="https://academy.example.cn",
    )
    assert s["actor"] == {
        "objectType": "Agent",
        "name": "张东",
        "account": {"homePage": "https://academy.example.cn", "name": "7"},
    }
    assert s["verb"] == {
        "id": "http://adlnet.gov/expapi/verbs/answered",
        "display": {"zh-CN": "作答"},
    }
    assert s["object"] == {
        "objectType": "Activity",
        "id": "urn:academy:practice:12/materials",
        "definition": {
            "name": {"zh-CN": "城乡居民养老保险参保登记 · 练习一：选材料"},
            "type": "http://adlnet.gov/expapi/activities/interaction",
        },
    }
    assert s["result"] == {
        "success": False,
        "response": "a[,]c",
        "extensions": {"urn:academy:ext:errors": 2},
    }
    ctx = s["context"]
    assert ctx["platform"] == "村级代办员学堂" and ctx["language"] == "zh-CN"
    assert ctx["contextActivities"] == {
        "parent": [{"objectType": "Activity", "id": "urn:academy:module:12"}]
    }
    assert ctx["extensions"] == {
        "urn:academy:ext:township": {"id": 3, "name": "东镇"},
        "urn:academy:ext:village": {"id": 9, "name": "东一村"},
        "urn:academy:ext:part": "materials",
    }
    assert s["timestamp"] == "2026-03-05T01:02:03.456Z"
    json.dumps(s)  # serialisable as it is


def test_a_parent_that_is_not_an_object_type_still_makes_a_statement():
    """A practice answer's parent is its practice session: the export once failed on it."""
    s = rules.to_statement(Event(context={"parent": "practice-session:7"}))
    assert s["context"]["contextActivities"] == {
        "parent": [{"objectType": "Activity", "id": "urn:academy:practice-session:7"}]
    }


def test_statement_id_is_a_stable_uuid_of_the_event_id():
    first = rules.to_statement(Event())["id"]
    assert first == rules.to_statement(Event(at=datetime(2027, 1, 1)))["id"]
    assert uuid.UUID(first).version == 5
    assert first != rules.to_statement(Event(id=42))["id"]


def test_default_home_page_and_actor_without_a_name():
    s = rules.to_statement(Event())
    assert s["actor"]["account"] == {"homePage": "urn:academy", "name": "7"}
    assert s["actor"]["name"] == "代办员 7"


@pytest.mark.parametrize(
    ("verb", "iri"),
    [
        (Verb.OPENED, "http://adlnet.gov/expapi/verbs/experienced"),
        (Verb.PASSED, "http://adlnet.gov/expapi/verbs/passed"),
        (Verb.FAILED, "http://adlnet.gov/expapi/verbs/failed"),
        (Verb.STARTED, "http://adlnet.gov/expapi/verbs/attempted"),
        (Verb.SUBMITTED, "http://adlnet.gov/expapi/verbs/completed"),
        (Verb.GRADED, "http://adlnet.gov/expapi/verbs/scored"),
        (Verb.ISSUED, "urn:academy:verb:issued"),
        (Verb.LAPSED, "urn:academy:verb:lapsed"),
    ],
)
def test_verbs_use_adl_iris_where_one_exists(verb, iri):
    assert rules.to_statement(Event(verb=verb))["verb"]["id"] == iri


def test_every_verb_and_object_type_has_an_iri():
    assert set(rules.VERB_IRIS) == set(Verb)
    assert set(rules.ACTIVITY_TYPES) == set(ObjectType)


def test_score_is_scaled_and_a_marker_is_the_instructor():
    s = rules.to_statement(
        Event(
            verb=Verb.GRADED,
            object_type=ObjectType.ATTEMPT,
            object_id="88",
            user_id=5,
            result={"score": 8, "max": 10, "success": True},
            context=None,
        ),
        user_name="俞晓红",
    )
    assert s["result"] == {"score": {"raw": 8, "min": 0, "max": 10, "scaled": 0.8}, "success": True}
    assert s["context"]["instructor"]["name"] == "俞晓红"
    assert s["context"]["instructor"]["account"]["name"] == "user:5"
    assert s["actor"]["account"]["name"] == "7"  # the learner stays the actor


def test_an_event_without_a_learner_is_told_as_the_user():
    s = rules.to_statement(Event(agent_id=None, user_id=5, result=None), user_name="管理员")
    assert s["actor"] == {
        "objectType": "Agent",
        "name": "管理员",
        "account": {"homePage": "urn:academy", "name": "user:5"},
    }
    assert "result" not in s and "instructor" not in s["context"]


def test_timestamp_of_an_aware_datetime_is_converted_to_utc():
    at = datetime(2026, 3, 5, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert rules.iso_timestamp(at) == "2026-03-05T01:00:00.000Z"
    assert rules.iso_timestamp(datetime(2026, 3, 5, 1, 0, tzinfo=UTC)).endswith("01:00:00.000Z")


@pytest.mark.parametrize(
    ("result", "text"),
    [
        ({"score": 4, "max": 5, "success": True}, "4/5 · 合格"),
        ({"score": 2, "max": 5, "success": False}, "2/5 · 不合格"),
        ({"success": True}, "正确"),
        ({"success": False, "errors": 1}, "有错误"),
        ({"completion": True, "success": True, "score": 0.8, "max": 1}, "80% · 合格"),
        ({"completion": True}, "已完成"),
        (None, ""),
    ],
)
def test_result_text(result, text):
    assert rules.result_text(result) == text


def test_china_time_days_and_months():
    start, end = rules.range_utc(date(2026, 3, 1), date(2026, 3, 31))
    assert start == datetime(2026, 2, 28, 16, 0) and end == datetime(2026, 3, 31, 16, 0)
    assert rules.month_bounds(date(2026, 12, 1)) == (
        datetime(2026, 11, 30, 16, 0),
        datetime(2026, 12, 31, 16, 0),
    )
    assert rules.to_local(datetime(2026, 2, 28, 17, 0)) == datetime(2026, 3, 1, 1, 0)
    # an event known by its day falls inside that day in both clocks
    moment = rules.day_moment(date(2026, 3, 1))
    assert moment.date() == rules.to_local(moment).date() == date(2026, 3, 1)
    assert rules.recent_months(date(2026, 2, 10), 3) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        (" 2026-03-01 ", date(2026, 3, 1)),
        ("2026-02-30", None),
        ("26-03-01", None),
        ("abc", None),
        ("", None),
    ],
)
def test_parse_day(raw, day):
    assert rules.parse_day(raw) == day


TODAY = date(2026, 3, 15)


def test_empty_range_means_this_month_so_far():
    assert rules.read_range("", "", TODAY) == (date(2026, 3, 1), TODAY, [])


def test_range_messages_name_the_field_and_the_reason():
    _, _, problems = rules.read_range("2026-03-10", "2026-03-01", TODAY)
    assert problems == [("date_to", "结束日期（2026-03-01）不能早于开始日期（2026-03-10）。")]
    _, _, problems = rules.read_range("2025-01-01", "2026-03-01", TODAY)
    assert problems == [("date_to", "日期范围为 425 天，最长 366 天，请缩短范围或分几次导出。")]
    _, _, problems = rules.read_range("2026-13-01", "", TODAY)
    assert problems == [
        ("date_from", "开始日期“2026-13-01”不是有效日期，请按 2026-03-15 的格式填写。"),
        ("date_to", "请填写结束日期，格式如 2026-03-15。"),
    ]
    # 366 days inclusive is allowed
    assert rules.read_range("2025-03-01", "2026-03-01", TODAY)[2] == []


def test_place_on_picks_the_posting_of_that_day_else_the_last_one():
    old = rules.Spell(date(2020, 1, 1), date(2024, 1, 1), village_id=1, township_id=10)
    new = rules.Spell(date(2024, 1, 1), None, village_id=2, township_id=20)
    assert rules.place_on([old, new], date(2023, 6, 1)) == (1, 10)
    assert rules.place_on([old, new], date(2024, 1, 1)) == (2, 20)  # left that day: moved
    assert rules.place_on([old], date(2025, 1, 1)) == (1, 10)  # had left: where they served
    assert rules.place_on([new], date(2019, 1, 1)) == (None, None)
