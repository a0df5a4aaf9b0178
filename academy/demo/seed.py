"""Deterministic demo data: 新昌县 with its townships, ~260 villages, ~600 agents with turnover.

The structure (who, where, which items) depends only on the random seed; dates are
placed relative to the day the command runs so that "recent" departures stay recent.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import yaml

from academy.auth.models import Role, User
from academy.catalogue.models import ItemScope, ServiceItem
from academy.extensions import db
from academy.regions.models import County, StationTier, Township, TownshipKind, Village, VillageKind
from academy.roster.models import Agent, AgentKind, Education, Gender, LeaveReason, Posting
from academy.roster.rules import id_check_char

DATA_FILE = Path(__file__).with_name("xinchang.yaml")
DEMO_PASSWORD = "demo2026"

HEAD_USERNAMES = {
    "羽林街道": "yulin",
    "南明街道": "nanming",
    "七星街道": "qixing",
    "澄潭街道": "chengtan",
    "沃洲镇": "wozhou",
    "儒岙镇": "ruao",
    "回山镇": "huishan",
    "镜岭镇": "jingling",
    "小将镇": "xiaojiang",
    "沙溪镇": "shaxi",
    "城南乡": "chengnan",
    "东茗乡": "dongming",
}
SURNAMES = "俞吕王陈张梁石丁杨潘竺黄何徐李章蔡董袁赵周胡钱孙梅盛裘"
GIVEN = [
    "建国",
    "国平",
    "海燕",
    "丽君",
    "伟军",
    "小红",
    "美芳",
    "志强",
    "立新",
    "晓燕",
    "春燕",
    "秋萍",
    "玉英",
    "红霞",
    "永明",
    "建华",
    "惠芬",
    "月娥",
    "金土",
    "松林",
    "雪芬",
    "益民",
    "巧玲",
    "文杰",
    "佳丽",
    "锦涛",
    "静",
    "敏",
    "芳",
    "勇",
    "军",
    "燕",
    "萍",
    "杰",
    "斌",
    "华",
]
EDU_WEIGHTS = [
    (Education.PRIMARY, 8),
    (Education.JUNIOR, 30),
    (Education.SENIOR, 32),
    (Education.COLLEGE, 20),
    (Education.BACHELOR, 10),
]
LEAVE_WEIGHTS = [
    (LeaveReason.RESIGNED, 45),
    (LeaveReason.REPLACED, 25),
    (LeaveReason.RETIRED, 15),
    (LeaveReason.OTHER, 10),
    (LeaveReason.DECEASED, 5),
]
ITEM_SHARE = {StationTier.MODEL: 1.0, StationTier.STANDARD: 0.65, StationTier.BASIC: 0.3}


class DemoAlreadyLoaded(Exception):
    pass


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


class _People:
    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng, self.today = rng, today
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()

    def make(self) -> Agent:
        rng = self.rng
        gender = rng.choice([Gender.MALE, Gender.FEMALE])
        birth_year = rng.randint(self.today.year - 68, self.today.year - 22)
        while True:
            born = date(birth_year, 1, 1) + timedelta(days=rng.randint(0, 364))
            seq = rng.randint(0, 99) * 10 + (
                rng.choice([1, 3, 5, 7, 9])
                if gender == Gender.MALE
                else rng.choice([0, 2, 4, 6, 8])
            )
            first17 = f"330624{born:%Y%m%d}{seq:03d}"
            id_number = first17 + id_check_char(first17)
            if id_number not in self.used_ids:
                self.used_ids.add(id_number)
                break
        while True:
            phone = (
                rng.choice(["135", "137", "138", "139", "150", "158", "159", "187", "188", "199"])
                + f"{rng.randint(0, 99_999_999):08d}"
            )
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                break
        education = _weighted(rng, EDU_WEIGHTS)
        if birth_year < self.today.year - 55 and education in (
            Education.COLLEGE,
            Education.BACHELOR,
        ):
            education = Education.JUNIOR
        return Agent(
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            phone=phone,
            id_number=id_number,
            birth_year=birth_year,
            gender=gender,
            education=education,
        )


def _days_ago(today: date, lo: int, hi: int, rng: random.Random) -> date:
    return today - timedelta(days=rng.randint(lo, hi))


def seed_demo_data(seed: int = 2026, today: date | None = None) -> list[str]:
    if db.session.scalar(sa.select(County.id).where(County.name == "新昌县")):
        raise DemoAlreadyLoaded()
    today = today or date.today()
    rng = random.Random(seed)
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    items = list(
        db.session.scalars(
            sa.select(ServiceItem).where(ServiceItem.retired.is_(False)).order_by(ServiceItem.id)
        )
    )

    county = County(name=data["county"]["name"], code=data["county"].get("code"))
    db.session.add(county)
    villages: list[Village] = []
    townships: list[Township] = []
    for position, t in enumerate(data["townships"]):
        township = Township(
            county=county,
            name=t["name"],
            kind=TownshipKind.from_label(t["kind"]),
            code=t.get("code"),
            position=position,
        )
        townships.append(township)
        always = set(t.get("items", []))  # items every village of this township offers
        for v in t["villages"]:
            kind = VillageKind.from_label(v["kind"])
            tier = StationTier.from_label(v["tier"])
            scope = ItemScope.VILLAGE if kind == VillageKind.VILLAGE else ItemScope.COMMUNITY
            eligible = [i for i in items if scope.value in i.scopes]
            offered = [
                i
                for i in eligible
                if tier == StationTier.MODEL
                or i.frequency >= 4
                or i.slug in always
                or rng.random() < ITEM_SHARE[tier]
            ]
            villages.append(
                Village(
                    township=township,
                    name=v["name"],
                    kind=kind,
                    tier=tier,
                    area=v.get("area"),
                    items=offered,
                )
            )
    db.session.add_all(villages)
    db.session.flush()

    people = _People(rng, today)
    postings: list[Posting] = []

    def post(
        agent: Agent,
        village: Village,
        kind: AgentKind,
        joined: date,
        left: date | None = None,
        reason: LeaveReason | None = None,
        note: str | None = None,
    ):
        p = Posting(
            agent=agent,
            village=village,
            kind=kind,
            joined_on=joined,
            left_on=left,
            leave_reason=reason,
            leave_note=note,
        )
        postings.append(p)
        return p

    # Eight villages without any active agent, two of them in the demo head's 澄潭街道.
    chengtan = [i for i, v in enumerate(villages) if v.township.name == "澄潭街道" and not v.area]
    others = [i for i in range(len(villages)) if i not in chengtan]
    uncovered = set(rng.sample(chengtan, k=2) + rng.sample(others, k=6))
    for index, village in enumerate(villages):
        # 简朴型 stations are often run by the secretary alone.
        full_time = {StationTier.MODEL: 2, StationTier.STANDARD: 1, StationTier.BASIC: 0}[
            village.tier
        ]
        if village.tier != StationTier.MODEL and rng.random() < 0.3:
            full_time += 1
        # Past agents who left this village (turnover history).
        for _ in range(rng.choice([0, 0, 0, 1, 1])):
            agent = people.make()
            left = _days_ago(today, 3, 700, rng)
            joined = left - timedelta(days=rng.randint(120, 1500))
            post(
                agent,
                village,
                rng.choice([AgentKind.FULL_TIME, AgentKind.FULL_TIME, AgentKind.VOLUNTEER]),
                joined,
                left,
                _weighted(rng, LEAVE_WEIGHTS),
            )
        if index in uncovered:
            # Both the agent and the secretary left recently: a gap the township must fill.
            agent = people.make()
            joined = _days_ago(today, 400, 1500, rng)
            post(
                agent,
                village,
                AgentKind.FULL_TIME,
                joined,
                _days_ago(today, 5, 80, rng),
                LeaveReason.RESIGNED,
            )
            agent = people.make()
            post(
                agent,
                village,
                AgentKind.FALLBACK,
                joined,
                _days_ago(today, 5, 80, rng),
                LeaveReason.REPLACED,
                "村两委换届",
            )
            continue
        # 村(社)书记 as 兜底代办员.
        post(people.make(), village, AgentKind.FALLBACK, _days_ago(today, 200, 1800, rng))
        for _ in range(full_time):
            post(people.make(), village, AgentKind.FULL_TIME, _days_ago(today, 10, 1600, rng))
        if village.tier != StationTier.BASIC and rng.random() < 0.25:
            post(people.make(), village, AgentKind.VOLUNTEER, _days_ago(today, 10, 700, rng))

    # Transfers within a township, and a few agents who left and came back.
    by_township: dict[int, list[Village]] = {}
    for v in villages:
        by_township.setdefault(id(v.township), []).append(v)
    movers = rng.sample(
        [p for p in postings if p.left_on is None and p.kind == AgentKind.FULL_TIME], k=20
    )
    for p in movers[:14]:
        options = [v for v in by_township[id(p.village.township)] if v is not p.village]
        target = rng.choice(options)
        on = min(today - timedelta(days=3), p.joined_on + timedelta(days=rng.randint(90, 500)))
        if on <= p.joined_on:
            continue
        p.left_on, p.leave_reason, p.leave_note = (
            on,
            LeaveReason.TRANSFERRED,
            f"调往{target.township.name}{target.name}",
        )
        post(p.agent, target, p.kind, on)
    for p in movers[14:]:
        if p.joined_on > today - timedelta(days=200):
            continue
        # Re-insert an earlier spell that ended, then the current one is the return.
        first_join = p.joined_on - timedelta(days=rng.randint(500, 900))
        first_left = p.joined_on - timedelta(days=rng.randint(60, 300))
        post(
            p.agent,
            p.village,
            p.kind,
            first_join,
            first_left,
            LeaveReason.OTHER,
            "外出务工，后返乡重新到岗",
        )

    db.session.add_all(postings)
    db.session.flush()
    active_postings = [p for p in postings if p.left_on is None]
    plans, passed, learning = _demo_learning(rng, today, active_postings)
    certificates = _demo_certificates(rng, today, active_postings)
    events = _demo_events(rng, today, learning, postings)

    accounts = _demo_users(townships, postings)
    from academy.demo.exams import seed_exams

    exam_lines = seed_exams(rng, {t.name: t.id for t in townships})
    from academy.demo.competition import seed_competitions
    from academy.simulations.demo import seed_simulation_runs

    exam_lines += seed_competitions(rng, today)
    exam_lines.append(seed_simulation_runs(rng, postings))
    agents = {p.agent for p in postings}
    active = sum(1 for p in postings if p.left_on is None)
    return [
        f"已载入演示数据：{county.name}，镇街 {len(townships)} 个，村社 {len(villages)} 个，",
        f"代办员 {len(agents)} 人（在岗任职 {active} 条，历史任职 {len(postings) - active} 条），",
        f"入职学习计划 {plans} 份，已通过的课程模块 {passed} 个，资格证书 {certificates} 张，",
        f"学习记录 {events} 条，",
        *exam_lines,
        f"演示账号 {accounts} 个，密码均为 {DEMO_PASSWORD}（见 README）。",
    ]


def _demo_learning(
    rng: random.Random, today: date, active: list[Posting]
) -> tuple[int, int, list[tuple[Posting, object, object]]]:
    """Onboarding plans for active postings, with progress: long-serving agents have passed
    most of their plan, newcomers little; some are part-way through the next module.
    Returns (plans, passed, [(posting, progress, module)]) — dated later by _demo_events."""
    from academy.learning.models import Module, ModuleProgress, ProgressStatus
    from academy.learning.rules import PRACTICE_PARTS
    from academy.learning.services import create_plan

    modules = {m.item_id: m for m in db.session.scalars(sa.select(Module))}
    done = {part: {"correct": True, "answer": None, "feedback": []} for part in PRACTICE_PARTS}
    plans = passed = 0
    learning = []
    for posting in active:
        plan = create_plan(posting, days=30)
        if plan is None:
            continue
        plans += 1
        served = (today - posting.joined_on).days
        share = min(1.0, served / 120) * rng.uniform(0.5, 1.0)
        cut = int(len(plan.entries) * share)
        for entry in plan.entries[:cut]:
            module = modules.get(entry.item_id)
            if module is None:
                continue
            progress = ModuleProgress(
                agent_id=posting.agent_id,
                module_id=module.id,
                status=ProgressStatus.PASSED,
                section="guide",
                practice=done,
                check_attempts=1,
                best_score=1.0,
            )
            db.session.add(progress)
            learning.append((posting, progress, module))
            passed += 1
        following = plan.entries[cut : cut + 1]
        if following and rng.random() < 0.5 and following[0].item_id in modules:
            parts = PRACTICE_PARTS[: rng.randint(0, len(PRACTICE_PARTS) - 1)]
            module = modules[following[0].item_id]
            progress = ModuleProgress(
                agent_id=posting.agent_id,
                module_id=module.id,
                status=ProgressStatus.IN_PROGRESS,
                section=PRACTICE_PARTS[len(parts)],
                practice={part: done[part] for part in parts},
            )
            db.session.add(progress)
            learning.append((posting, progress, module))
    db.session.flush()
    from academy.learning.services import refresh_plan_completion

    for posting in active:
        refresh_plan_completion(posting.agent_id, on=today)
    return plans, passed, learning


def _moment(rng: random.Random, day: date) -> datetime:
    """A working-hours moment (08:30–17:30 China time) of ``day``, as naive UTC."""
    from academy.activity.rules import day_start_utc

    return day_start_utc(day) + timedelta(minutes=rng.randint(510, 1050))


def _demo_events(
    rng: random.Random,
    today: date,
    learning: list[tuple[Posting, object, object]],
    postings: list[Posting],
) -> int:
    """The event log behind the progress rows: for each passed module a visit, the four
    practices (some wrong first), the check (sometimes failed first) and the pass, dated
    before the certificate it led to; part-way modules with what was done so far. Check
    attempts and passed_at agree with the events. Then lapses and monthly rollups, as the
    daily job would have left them."""
    from academy.activity import rules as activity_rules
    from academy.activity.models import LearningEvent, ObjectType, Verb
    from academy.activity.services import append_many, record_rollups
    from academy.catalogue.models import ServiceItem
    from academy.certification.models import Certificate, CertificationScheme
    from academy.certification.services import record_lapses
    from academy.learning.models import CheckAttempt, ProgressStatus
    from academy.learning.rules import PART_LABELS, PRACTICE_PARTS

    spells: dict[int, list] = {}
    for p in postings:
        spells.setdefault(p.agent_id, []).append(
            activity_rules.Spell(p.joined_on, p.left_on, p.village_id, p.village.township_id)
        )
    certified = {
        (agent_id, category): issued_on
        for agent_id, category, issued_on in db.session.execute(
            sa.select(Certificate.agent_id, CertificationScheme.category, Certificate.issued_on)
            .join(CertificationScheme, CertificationScheme.id == Certificate.scheme_id)
            .order_by(Certificate.issued_on)
        )
    }
    categories = dict(db.session.execute(sa.select(ServiceItem.id, ServiceItem.category)).all())
    rows: list[dict] = []
    attempts: list[CheckAttempt] = []

    def log(at, agent_id, verb, kind, object_id, name, result=None, context=None):
        village_id, township_id = activity_rules.place_on(
            spells[agent_id], activity_rules.to_local(at).date()
        )
        rows.append(
            dict(
                at=at,
                agent_id=agent_id,
                verb=verb,
                object_type=kind,
                object_id=object_id,
                object_name=name,
                township_id=township_id,
                village_id=village_id,
                result=result,
                context=context,
            )
        )

    for posting, progress, module in learning:
        agent_id = posting.agent_id
        issued = certified.get((agent_id, categories[module.item_id]))
        passed = progress.status == ProgressStatus.PASSED
        if passed and issued is not None:  # in the weeks before the certificate it earned
            last = max(posting.joined_on, issued - timedelta(days=1))
            first = max(posting.joined_on, last - timedelta(days=60))
        elif passed:
            last, first = max(posting.joined_on, today - timedelta(days=1)), posting.joined_on
        else:  # part-way: lately
            last, first = today, max(posting.joined_on, today - timedelta(days=40))
        day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
        at = _moment(rng, day)
        progress.created_at = at
        log(at, agent_id, Verb.OPENED, ObjectType.MODULE, module.id, module.title)
        parent = {"parent": f"module:{module.id}"}
        for part in PRACTICE_PARTS:
            if part not in (progress.practice or {}):
                break
            tries = 2 if rng.random() < 0.3 else 1
            for n in range(tries):
                at += timedelta(minutes=rng.randint(2, 6))
                ok = n == tries - 1
                log(
                    at,
                    agent_id,
                    Verb.ANSWERED,
                    ObjectType.PRACTICE,
                    f"{module.id}/{part}",
                    f"{module.title} · {PART_LABELS[part]}",
                    {"success": ok, "errors": 0 if ok else rng.randint(1, 2)},
                    {**parent, "part": part},
                )
        if passed:
            tries = 2 if rng.random() < 0.2 else 1
            for n in range(tries):
                at += timedelta(minutes=rng.randint(3, 8))
                ok = n == tries - 1
                right = 5 if ok and rng.random() < 0.7 else (4 if ok else rng.randint(1, 3))
                log(
                    at,
                    agent_id,
                    Verb.PASSED if ok else Verb.FAILED,
                    ObjectType.CHECK,
                    module.id,
                    f"{module.title} · {PART_LABELS['check']}",
                    {"score": right, "max": 5, "success": ok},
                    parent,
                )
                attempts.append(
                    CheckAttempt(
                        agent_id=agent_id,
                        module_id=module.id,
                        score=right / 5,
                        passed=ok,
                        at=at,
                    )
                )
            progress.check_attempts = tries
            progress.best_score = right / 5
            progress.passed_at = at
            log(
                at,
                agent_id,
                Verb.PASSED,
                ObjectType.MODULE,
                module.id,
                module.title,
                {"completion": True, "success": True, "score": right / 5, "max": 1},
            )
        progress.updated_at = at
    db.session.add_all(attempts)
    _date_plan_completion(learning)
    db.session.flush()
    append_many(rows)
    record_lapses(today)
    record_rollups(today)
    return db.session.scalar(sa.select(sa.func.count()).select_from(LearningEvent)) or 0


def _date_plan_completion(learning: list[tuple[Posting, object, object]]) -> None:
    """A completed plan was completed on the day of its last pass, not on seeding day."""
    from academy.learning.models import Curriculum, OnboardingPlan

    passed_at = {
        (p.agent_id, m.item_id): progress.passed_at
        for p, progress, m in learning
        if progress.passed_at is not None
    }
    plans = db.session.scalars(
        sa.select(OnboardingPlan)
        .options(sa.orm.selectinload(OnboardingPlan.curriculum).selectinload(Curriculum.items))
        .where(OnboardingPlan.completed_on.is_not(None))
    )
    for plan in plans:
        days = [passed_at.get((plan.agent_id, e.item_id)) for e in plan.entries]
        if days and all(days):
            plan.completed_on = max(days).date()


def _demo_certificates(rng: random.Random, today: date, active: list[Posting]) -> int:
    """Certificates for agents who passed every module of a category their village offers,
    issued over the last 15 months: some have expired (coverage gaps), some expire soon."""
    from academy.certification import services as certs
    from academy.certification.models import CertSource
    from academy.certification.rules import Requirement, eligibility, required_items
    from academy.learning.services import passed_item_ids

    certs.ensure_default_schemes()
    schemes = certs.active_schemes()
    requirements = certs.scheme_items(schemes)
    passed = passed_item_ids([p.agent_id for p in active])
    count = 0
    for posting in active:
        offered = {i.id for i in posting.village.items}
        for scheme in schemes:
            need = required_items(requirements[scheme.id], offered)
            if not eligibility(Requirement(need), passed.get(posting.agent_id, set())).eligible:
                continue
            # not on the first day: the modules it needs were learnt in the weeks before
            earliest = posting.joined_on + timedelta(days=rng.randint(7, 30))
            issued_on = min(today, max(earliest, today - timedelta(days=rng.randint(5, 450))))
            certs.issue_certificate(posting.agent, scheme, issued_on, CertSource.EARNED)
            count += 1
    db.session.flush()
    return count


def _demo_users(townships: list[Township], postings: list[Posting]) -> int:
    template = User(username="-", display_name="-", role=Role.ADMIN)
    template.set_password(DEMO_PASSWORD)
    password_hash = template.password_hash  # one hash for all demo accounts: seeding stays fast

    users = [
        User(username="admin", display_name="县政务服务办管理员", role=Role.ADMIN),
        User(username="expert", display_name="俞晓红（县人社局专家）", role=Role.EXPERT),
        User(username="expert-yibao", display_name="吕建平（县医保局专家）", role=Role.EXPERT),
        User(username="expert-gongan", display_name="陈立新（县公安局专家）", role=Role.EXPERT),
    ]
    for t in townships:
        users.append(
            User(
                username=f"head-{HEAD_USERNAMES.get(t.name, t.id)}",
                display_name=f"{t.name}便民服务中心负责人",
                role=Role.TOWNSHIP_HEAD,
                township=t,
            )
        )
    active_full_time = [p for p in postings if p.left_on is None and p.kind == AgentKind.FULL_TIME]
    meizhu = next(p for p in active_full_time if p.village.name == "梅渚村")
    users.append(
        User(username="agent", display_name=meizhu.agent.name, role=Role.AGENT, agent=meizhu.agent)
    )
    for n, p in enumerate([p for p in active_full_time if p is not meizhu][::40][:10], start=1):
        users.append(
            User(
                username=f"agent{n:02d}", display_name=p.agent.name, role=Role.AGENT, agent=p.agent
            )
        )
    for u in users:
        u.password_hash = password_hash
    db.session.add_all(users)
    db.session.flush()
    return len(users)
