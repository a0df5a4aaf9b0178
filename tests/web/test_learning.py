"""Learners, township heads and experts using modules through HTTP."""

import re

import sqlalchemy as sa
import yaml

from academy.extensions import db
from academy.learning.models import ModuleProgress, ProgressStatus
from tests.content_samples import valid_module

GOOD_CHECK = {"q-0": "0", "q-1": "false", "q-2": ["0", "1"], "q-3": "false", "q-4": "0"}


def _progress(world, module):
    return db.session.scalar(
        sa.select(ModuleProgress).where(
            ModuleProgress.agent_id == world.east_agent.id, ModuleProgress.module_id == module.id
        )
    )


def _good_form(module):
    return {f"f-{f['id']}": f["expected"] for f in module.document["practice"]["form"]["fields"]}


def _complete_practice(client, module):
    url = f"/learn/{module.slug}/practice/"
    client.post(url + "materials", data={"choice": ["m1", "m2"]})
    client.post(url + "channel", data={"choice": "c1"})
    client.post(url + "order", data={"pos-0": "1", "pos-1": "2", "pos-2": "3", "pos-3": "4"})
    client.post(url + "form", data=_good_form(module))


def test_opening_a_module_starts_progress(world, module, login_as):
    client = login_as(world.agent_user)
    html = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert "一次性告知" in html and "朗读" in html
    assert _progress(world, module).status == ProgressStatus.IN_PROGRESS
    catalogue = client.get("/learn/").get_data(as_text=True)
    assert "学习中" in catalogue


def test_wrong_practice_gets_feedback_and_resumes_there(world, module, login_as):
    client = login_as(world.agent_user)
    client.post(f"/learn/{module.slug}/practice/materials", data={"choice": ["m1", "m3"]})
    page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert "不需要" in page and "漏选" in page
    assert 'data-section="materials"' in page  # the page reopens at the unfinished part
    assert 'value="m3" checked' in page  # and shows what was chosen before
    client.post(f"/learn/{module.slug}/practice/materials", data={"choice": ["m1", "m2"]})
    assert _progress(world, module).section == "channel"


def test_full_module_passes(world, module, login_as):
    client = login_as(world.agent_user)
    _complete_practice(client, module)
    assert _progress(world, module).status == ProgressStatus.PRACTISED
    resp = client.post(f"/learn/{module.slug}/check", data=GOOD_CHECK, follow_redirects=True)
    assert "本模块已通过" in resp.get_data(as_text=True)
    progress = _progress(world, module)
    assert progress.status == ProgressStatus.PASSED and progress.best_score == 1.0


def test_failed_check_does_not_pass(world, module, login_as):
    client = login_as(world.agent_user)
    _complete_practice(client, module)
    resp = client.post(
        f"/learn/{module.slug}/check",
        data=GOOD_CHECK | {"q-1": "true", "q-4": "1"},
        follow_redirects=True,
    )
    assert "未达到合格线" in resp.get_data(as_text=True)
    assert _progress(world, module).status == ProgressStatus.PRACTISED


def test_tampered_submissions_are_rejected_and_change_nothing(world, module, login_as):
    client = login_as(world.agent_user)
    client.get(f"/learn/{module.slug}")
    before = dict(_progress(world, module).practice)
    base = f"/learn/{module.slug}"
    cases = [
        (base + "/practice/materials", {"choice": ["m1", "zz"]}),
        (base + "/practice/channel", {"choice": ["c1", "c2"]}),
        (base + "/practice/order", {"pos-0": "1", "pos-1": "1", "pos-2": "3", "pos-3": "4"}),
        (
            base + "/practice/order",
            {"pos-0": "1", "pos-1": "2", "pos-2": "3", "pos-3": "4", "pos-9": "5"},
        ),
        (base + "/practice/form", _good_form(module) | {"f-admin": "1"}),
        (base + "/check", {"q-0": "0"}),
        (base + "/check", GOOD_CHECK | {"q-0": "9"}),
        (base + "/check", GOOD_CHECK | {"q-1": "maybe"}),
    ]
    for url, data in cases:
        resp = client.post(url, data=data)
        assert resp.status_code == 400, url
        assert "提交的练习无效" in resp.get_data(as_text=True)
    assert client.post(base + "/practice/nonsense", data={}).status_code == 404
    assert client.post("/learn/no-such-module/check", data=GOOD_CHECK).status_code == 404
    db.session.expire_all()
    progress = _progress(world, module)
    assert progress.practice == before and progress.check_attempts == 0


def test_staff_preview_but_cannot_submit(world, module, login_as):
    client = login_as(world.east_head)
    html = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert "预览" in html
    assert (
        client.post(f"/learn/{module.slug}/practice/materials", data={"choice": ["m1"]}).status_code
        == 403
    )


def test_plans_page_is_scoped_and_filters_overdue(world, module, login_as):
    from datetime import date, timedelta

    from academy.roster import services as roster
    from academy.roster.models import AgentKind

    roster.enrol_agent(
        world.admin,
        roster.PersonData("东新人", "13900001234"),
        world.east_village,
        AgentKind.VOLUNTEER,
        date.today() - timedelta(days=45),
    )
    roster.enrol_agent(
        world.admin,
        roster.PersonData("西新人", "13900004321"),
        world.west_village,
        AgentKind.VOLUNTEER,
        date.today(),
    )
    db.session.commit()
    east = login_as(world.east_head).get("/plans/").get_data(as_text=True)
    assert "东新人" in east and "西新人" not in east and "已逾期" in east
    overdue = login_as(world.admin).get("/plans/?overdue=1").get_data(as_text=True)
    assert "东新人" in overdue and "西新人" not in overdue


def test_expert_edit_is_sanitised_versioned_and_revertible(world, module, login_as):
    client = login_as(world.expert)
    data = valid_module(world.item.slug)
    data["tell_once"] = "**请带身份证** <script>alert('x')</script>"
    source = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    preview = client.post(
        f"/learn/{module.slug}/edit", data={"mode": "source", "source": source, "action": "preview"}
    )
    assert preview.status_code == 200 and "<strong>请带身份证</strong>" in preview.get_data(
        as_text=True
    )
    client.post(
        f"/learn/{module.slug}/edit",
        data={"mode": "source", "source": source, "action": "save", "note": "改告知"},
    )
    page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    history = client.get(f"/learn/{module.slug}/history").get_data(as_text=True)
    assert "第 2 版" in history and "tell_once" in history and "改告知" in history
    client.post(f"/learn/{module.slug}/revert/1")
    assert "请带身份证" not in client.get(f"/learn/{module.slug}").get_data(as_text=True)


def test_invalid_edit_lists_problems_and_saves_nothing(world, module, login_as):
    client = login_as(world.expert)
    data = valid_module(world.item.slug)
    data["practice"]["form"]["fields"][1]["expected"] = "330624195003150010"
    resp = client.post(
        f"/learn/{module.slug}/edit",
        data={
            "mode": "source",
            "source": yaml.safe_dump(data, allow_unicode=True),
            "action": "save",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "practice.form.fields[1].expected" in html and "校验位" in html
    assert module.version == 1


def test_agents_and_heads_cannot_edit(world, module, login_as):
    assert login_as(world.agent_user).get(f"/learn/{module.slug}/edit").status_code == 403
    assert login_as(world.east_head).post(f"/learn/{module.slug}/revert/1").status_code == 403


def test_agent_home_and_catalogue_show_what_to_learn_next(world, module, login_as):
    from datetime import date

    from academy.roster import services as roster
    from academy.roster.models import AgentKind

    posting = roster.transfer_agent(
        world.admin,
        world.east_agent.current_posting,
        world.west_village,
        date.today(),
        AgentKind.FULL_TIME,
    )
    assert posting.village_id == world.west_village.id
    db.session.commit()
    client = login_as(world.agent_user)
    home = client.get("/home").get_data(as_text=True)
    assert "下一步学习" in home and world.item.name in home and "已通过 0 / 1" in home
    _complete_practice(client, module)
    client.post(f"/learn/{module.slug}/check", data=GOOD_CHECK)
    assert "计划中的事项已全部通过" in client.get("/learn/").get_data(as_text=True)


def _second_module(world):
    from academy.content.loader import ContentDoc
    from academy.learning.services import module_or_none, sync_modules
    from tests import factories

    item = factories.item("城乡居民养老保险待遇领取", frequency=1)
    world.east_village.items.append(item)
    docs = []
    for slug in (world.item.slug, item.slug):  # a sync is of every module there is
        data = valid_module(slug)
        if slug == item.slug:
            data["title"] = "养老保险待遇领取"
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        docs.append(ContentDoc(f"courses/{slug}.yaml", data, text))
    sync_modules(docs)
    return module_or_none(item.slug)


def test_check_lands_on_its_result_and_a_pass_offers_the_next_module(world, module, login_as):
    from academy.learning.services import create_plan

    second = _second_module(world)
    create_plan(world.east_agent.current_posting)
    db.session.commit()
    client = login_as(world.agent_user)
    failed = client.post(
        f"/learn/{module.slug}/check", data=GOOD_CHECK | {"q-0": "1", "q-1": "true"}
    )
    assert failed.headers["Location"].endswith("#check-result")
    page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert 'id="check-result"' in page and "未达到合格线" in page
    assert "下一个模块" not in page
    resp = client.post(f"/learn/{module.slug}/check", data=GOOD_CHECK)
    assert resp.headers["Location"].endswith("#check-result")
    page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert "本次小测答对 5/5 题" in page
    assert f'href="/learn/{second.slug}">下一个模块：养老保险待遇领取' in page


# --- retaking the check ------------------------------------------------------------------


def test_a_failed_check_waits_before_a_retake_and_hides_the_missed_answers(
    world, module, login_as, app, monkeypatch
):
    monkeypatch.setitem(app.config, "CHECK_RETAKE_MINUTES", 30)
    client = login_as(world.agent_user)
    _complete_practice(client, module)
    failed = GOOD_CHECK | {"q-1": "true", "q-4": "1"}  # 3 of 5
    client.post(f"/learn/{module.slug}/check", data=failed)
    page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    # Right answers are explained; a missed one points back to the guide, not to its answer.
    explanations = [q["explanation"] for q in module.document["check"]]
    assert explanations[0] in page and explanations[2] in page
    assert explanations[4] not in page and explanations[1] not in page
    assert "通过小测后显示解析" in page
    assert "以后可以再做" in page and "交卷" not in page.split('id="check"')[1]
    # Trying at once is refused and records nothing.
    resp = client.post(f"/learn/{module.slug}/check", data=GOOD_CHECK, follow_redirects=True)
    assert "以后才能再做" in resp.get_data(as_text=True)
    assert _progress(world, module).check_attempts == 1
    # Half an hour later the check is open again.
    progress = _progress(world, module)
    last = dict(progress.practice)
    last["check"] = {**last["check"], "at": "2000-01-01T00:00:00"}
    progress.practice = last
    db.session.commit()
    resp = client.post(f"/learn/{module.slug}/check", data=GOOD_CHECK, follow_redirects=True)
    assert "本模块已通过" in resp.get_data(as_text=True)
    page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
    assert all(e in page for e in explanations)  # passed: every explanation


def test_the_options_of_the_check_are_reshuffled_on_every_try(world, module, login_as):
    client = login_as(world.agent_user)

    def shown_order():
        page = client.get(f"/learn/{module.slug}").get_data(as_text=True)
        section = page.split('id="check"')[1]
        return [
            tuple(re.findall(rf'name="q-{i}" value="(\d)"', section))
            for i, q in enumerate(module.document["check"])
            if q["type"] != "truefalse"
        ]

    orders = [shown_order()]
    for _ in range(4):
        client.post(f"/learn/{module.slug}/check", data=GOOD_CHECK | {"q-1": "true", "q-3": "true"})
        orders.append(shown_order())
    assert orders[-1] == shown_order()  # stable while the learner reads the page
    assert len(set(map(tuple, orders))) > 1  # but not the same on every try
    for order in orders:  # always every option, once
        assert [sorted(o) for o in order] == [
            ["0", "1", "2"],
            ["0", "1", "2", "3"],
            ["0", "1", "2"],
        ]
