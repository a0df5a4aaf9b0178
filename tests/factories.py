"""Small factories for tests. Each returns a flushed object."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from academy.auth.models import Role, User
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.extensions import db
from academy.questions.models import BankSource, Dimension, Question, QuestionBank, QuestionVersion
from academy.regions.models import County, StationTier, Township, TownshipKind, Village, VillageKind
from academy.roster.models import Agent, AgentKind, Posting

PASSWORD = "secret123"
_seq = itertools.count(1)
_HASH: dict[str, str] = {}


def _n() -> int:
    return next(_seq)


def county(name: str = "测试县") -> County:
    c = County(name=f"{name}{_n()}")
    db.session.add(c)
    db.session.flush()
    return c


def township(c: County, name: str | None = None) -> Township:
    t = Township(county=c, name=name or f"测试镇{_n()}", kind=TownshipKind.TOWN)
    db.session.add(t)
    db.session.flush()
    return t


def item(
    name: str | None = None, category: ItemCategory = ItemCategory.REGISTRATION, frequency: int = 3
) -> ServiceItem:
    n = _n()
    i = ServiceItem(
        slug=f"item-{n}",
        name=name or f"测试事项{n}",
        category=category,
        department="县人力社保局",
        channels=["on_site"],
        one_visit=True,
        time_limit="即时办结",
        legal_days=None,
        fee="免费",
        frequency=frequency,
        scopes=["village"],
        summary="测试用事项。",
    )
    db.session.add(i)
    db.session.flush()
    return i


def village(
    t: Township,
    name: str | None = None,
    tier: StationTier = StationTier.STANDARD,
    items: list[ServiceItem] | None = None,
) -> Village:
    v = Village(
        township=t,
        name=name or f"测试村{_n()}",
        kind=VillageKind.VILLAGE,
        tier=tier,
        items=items or [],
    )
    db.session.add(v)
    db.session.flush()
    return v


def agent(
    v: Village,
    name: str | None = None,
    kind: AgentKind = AgentKind.FULL_TIME,
    joined_on: date | None = None,
) -> Agent:
    n = _n()
    a = Agent(name=name or f"代办员{n}", phone=f"138{n:08d}")
    p = Posting(
        agent=a, village=v, kind=kind, joined_on=joined_on or date.today() - timedelta(days=100)
    )
    db.session.add_all([a, p])
    db.session.flush()
    return a


def user(
    role: Role,
    username: str | None = None,
    township: Township | None = None,
    agent: Agent | None = None,
    active: bool = True,
) -> User:
    u = User(
        username=username or f"{role.value}{_n()}",
        display_name=f"{role.label}{_n()}",
        role=role,
        township=township,
        agent=agent,
        active=active,
    )
    if PASSWORD not in _HASH:
        u.set_password(PASSWORD)
        _HASH[PASSWORD] = u.password_hash
    u.password_hash = _HASH[PASSWORD]
    db.session.add(u)
    db.session.flush()
    return u


def question_bank(item_: ServiceItem | None = None, title: str | None = None) -> QuestionBank:
    n = _n()
    b = QuestionBank(
        slug=f"bank-{n}",
        title=title or f"测试题库{n}",
        item_id=item_.id if item_ else None,
        source=BankSource.WEB,
    )
    db.session.add(b)
    db.session.flush()
    return b


def question(
    bank: QuestionBank | None = None,
    qtype: str = "multichoice",
    item: ServiceItem | None = None,
    dimension: Dimension | str | None = Dimension.KNOWLEDGE,
    difficulty: int | None = 1,
    data: dict | None = None,
    name: str | None = None,
) -> Question:
    """A question with version 1 (content from ``question_spec`` unless ``data`` is given)."""
    from academy.questions.services import version_data

    bank = bank or question_bank()
    n = _n()
    name = name or f"测试题{n}"
    content = data if data is not None else version_data(question_spec(qtype, None, name=name))
    q = Question(
        key=f"{bank.slug}/q{n}",
        bank=bank,
        qtype=qtype,
        name=name,
        item_id=item.id if item else None,
        dimension=Dimension(dimension) if dimension else None,
        difficulty=difficulty,
        current_version=1,
    )
    q.versions = [QuestionVersion(number=1, data=content)]
    db.session.add(q)
    db.session.flush()
    return q


def revise_question(q: Question, **changes) -> QuestionVersion:
    """A new version of ``q`` with some fields of the current content changed."""
    current = next(v for v in q.versions if v.number == q.current_version)
    q.current_version += 1
    v = QuestionVersion(question=q, number=q.current_version, data={**current.data, **changes})
    db.session.add(v)
    db.session.flush()
    return v


@dataclass
class World:
    county: County
    east: Township
    west: Township
    east_village: Village
    east_village2: Village
    west_village: Village
    item: ServiceItem
    east_agent: Agent
    west_agent: Agent
    admin: User
    expert: User
    east_head: User
    west_head: User
    agent_user: User  # 张东's account (east)
    west_agent_user: User  # 李西's account: "another agent" in scope tests


def build_world() -> World:
    c = county()
    east, west = township(c, "东镇"), township(c, "西镇")
    it = item("城乡居民养老保险参保登记")
    ev, ev2 = village(east, "东一村", items=[it]), village(east, "东二村")
    wv = village(west, "西一村", items=[it])
    ea, wa = agent(ev, "张东"), agent(wv, "李西")
    return World(
        county=c,
        east=east,
        west=west,
        east_village=ev,
        east_village2=ev2,
        west_village=wv,
        item=it,
        east_agent=ea,
        west_agent=wa,
        admin=user(Role.ADMIN, "admin-t"),
        expert=user(Role.EXPERT, "expert-t"),
        east_head=user(Role.TOWNSHIP_HEAD, "head-east", township=east),
        west_head=user(Role.TOWNSHIP_HEAD, "head-west", township=west),
        agent_user=user(Role.AGENT, "agent-t", agent=ea),
        west_agent_user=user(Role.AGENT, "agent-west-t", agent=wa),
    )


def pass_module(agent: Agent, module) -> None:
    """Take a module the right way through the learning services: every practice right,
    then the check of tests.content_samples.valid_module answered correctly."""
    from academy.learning import rules
    from academy.learning import services as learning

    for part in rules.PRACTICE_PARTS:
        learning.submit_practice(agent, module, part, rules.PracticeResult(True, None))
    good = rules.score_check(
        module.document["check"],
        {0: frozenset({0}), 1: False, 2: frozenset({0, 1}), 3: False, 4: frozenset({0})},
    )
    learning.submit_check(agent, module, good)


def question_spec(qtype: str, item: str | None = None, **over):
    """A valid question of each type (passes the bank rules), tagged with ``item``."""
    from academy.questions.spec import Answer
    from academy.questions.spec import Question as Spec

    n = _n()
    base = dict(
        type=qtype,
        name=f"{qtype}-题{n}",
        text=f"第 {n} 题：关于居民养老保险的题干。",
        text_format="markdown",
        item=item,
        dimension="knowledge",
        difficulty=2,
    )
    if qtype == "multichoice":
        base["answers"] = [
            Answer("本人到场", 1.0, "对，人证合一。"),
            Answer("子女代办", 0.0, "不对。"),
            Answer("邻居代签", 0.0),
        ]
    elif qtype == "multichoice-multiple":
        base["type"], base["single"] = "multichoice", False
        base["answers"] = [
            Answer("登记信息", 0.5),
            Answer("恢复后补录", 0.5),
            Answer("让其回家", -0.5),
            Answer("不予理睬", -0.5),
        ]
    elif qtype == "truefalse":
        base["answers"] = [Answer("true", 0.0, "不对。"), Answer("false", 1.0, "正确。")]
    elif qtype == "shortanswer":
        base["answers"] = [Answer("户口簿", 1.0), Answer("户口本", 1.0), Answer("身份证", 0.5)]
    elif qtype == "numerical":
        base["answers"] = [Answer("60", 1.0, "对", 0.0), Answer("30", 0.5, "", 5.0)]
        base["other_feedback"] = "法定时限是 60 日。"
    elif qtype == "matching":
        base["pairs"] = [("残疾人证", "残联"), ("身份证", "派出所"), ("低保", "民政")]
    elif qtype == "ordering":
        base["order"] = ["受理", "初审", "复核"]
    elif qtype == "essay":
        base["grader_info"] = "先安抚情绪，再一次性告知。"
    elif qtype == "description":
        base.update(dimension=None, difficulty=None)
    if qtype not in ("ordering", "description"):
        base["general_feedback"] = "依据《社会保险法》。"
    base.update(over)
    return Spec(**base)


SPEC_KINDS = (
    "multichoice",
    "multichoice-multiple",
    "truefalse",
    "shortanswer",
    "numerical",
    "matching",
    "ordering",
    "essay",
    "description",
)


def web_bank(title: str = "网页题库", item: ServiceItem | None = None):
    from academy.questions.services import create_bank

    return create_bank(None, title, item)


def web_question(bank, kind: str = "multichoice", item: ServiceItem | None = None, **over):
    from academy.questions.services import create_question

    return create_question(None, bank, question_spec(kind, item.slug if item else None, **over))


def practice_question(
    item: ServiceItem | None,
    qtype: str = "truefalse",
    retired: bool = False,
    difficulty: int = 1,
    **content,
):
    """A question of ``item`` for practice tests. True/false questions are right when
    answered True; multichoice ones when answer 0 is chosen."""
    from academy.questions.services import version_data
    from academy.questions.spec import Answer
    from academy.questions.spec import Question as Spec

    defaults = {
        "truefalse": {"answers": [Answer("true", 1.0, "对。"), Answer("false", 0.0, "不对。")]},
        "multichoice": {
            "answers": [Answer("正确做法", 1.0, "对。"), Answer("错误做法", 0.0, "不对。")]
        },
        "essay": {"grader_info": "要点"},
        "description": {},
    }
    spec = Spec(
        type=qtype,
        name=f"测试题{_n()}",
        text=content.pop("text", "练习题的题干"),
        general_feedback=content.pop("general_feedback", "记住要点。"),
        **{**defaults.get(qtype, {}), **content},
    )
    q = question(qtype=qtype, item=item, difficulty=difficulty, data=version_data(spec))
    q.retired = retired
    db.session.flush()
    return q
