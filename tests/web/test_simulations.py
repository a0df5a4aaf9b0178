"""Simulation cases through the web: every shipped case's best path, refusals, marking,
authoring, the head's scoped results."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from academy.auth.policy import Scope
from academy.content.loader import load_content
from academy.extensions import db
from academy.simulations import rules, services
from academy.simulations.models import RunState, RunStep, SimRun
from tests.simcases import ROOT, load_case, sample_case

SHIPPED = load_content(ROOT).documents["simulations"]


def _form(step: dict, response, seq: int) -> MultiDict:
    form = services.form_for(step, response)
    data = MultiDict([("seq", str(seq)), ("step", step["id"])])
    for key, value in form.items():
        for v in value if isinstance(value, list) else [value]:
            data.add(key, v)
    return data


def _play_best(client, run: SimRun) -> None:
    case = services.case_of(run)
    planned = {p.step_id: p.response for p in rules.extreme_path(case, run.seed)}
    for _ in range(60):
        db.session.refresh(run)
        if run.state == RunState.FINISHED:
            return
        page = client.get(f"/simulations/runs/{run.id}")
        assert page.status_code == 200
        step = case.step(run.current_step)
        assert f'data-step="{step["id"]}"' in page.text
        response = planned.get(step["id"])
        if step["kind"] == "free_text":
            response = step["model_answer"]
        r = client.post(f"/simulations/runs/{run.id}/step", data=_form(step, response, run.seq))
        assert r.status_code == 302, r.text
        db.session.refresh(run)
        # the step that ends the case leads straight to the debrief, any other to the next step
        wanted = "/debrief" if run.state == RunState.FINISHED else f"/runs/{run.id}"
        assert r.headers["Location"].endswith(wanted)
    raise AssertionError("run did not finish")


@pytest.mark.parametrize("doc", SHIPPED, ids=lambda d: d.data["slug"])
def test_every_shipped_case_best_path_reaches_its_best_outcome(client, world, login_as, doc):
    services.sync_cases([doc])
    db.session.commit()
    case = services.case_by_slug(doc.data["slug"])
    login_as(world.agent_user)
    for seed in (0, 1, 2):
        run = services.start_run(world.east_agent, case, seed=seed)
        db.session.commit()
        _play_best(client, run)
        assert run.outcome == "solved"
        score = services.run_score(run)
        assert score.auto_total == 100
        page = client.get(f"/simulations/runs/{run.id}/debrief")
        assert "结局：一次办结" in page.text
        assert "每一步都做得很好" in page.text
        assert "待专家评分" in page.text or score.pending == 0


@pytest.fixture
def sim(world):
    return load_case(sample_case(world.item.slug))


def _start(client, login_as, world, sim) -> SimRun:
    login_as(world.agent_user)
    r = client.post(f"/simulations/{sim.slug}/start")
    run_id = int(re.search(r"/runs/(\d+)", r.headers["Location"]).group(1))
    return db.session.get(SimRun, run_id)


def _state(run):
    db.session.refresh(run)
    return (run.seq, run.current_step, db.session.query(RunStep).filter_by(run_id=run.id).count())


def test_reload_resumes_at_the_same_step(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    page = client.get(f"/simulations/runs/{run.id}")
    assert 'data-step="first_reply"' in page.text
    # starting the case again continues the open run instead of a new one
    again = client.post(f"/simulations/{sim.slug}/start")
    assert again.headers["Location"].endswith(f"/runs/{run.id}")
    assert 'data-step="first_reply"' in client.get(f"/simulations/runs/{run.id}").text


def test_the_next_step_shows_what_the_last_choice_meant(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    assert 'id="last-feedback"' not in client.get(f"/simulations/runs/{run.id}").text
    client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    # a dialogue carries no feedback: nothing shown above the choice
    assert 'id="last-feedback"' not in client.get(f"/simulations/runs/{run.id}").text
    data = {"seq": "1", "step": "first_reply", "option": "list_offices"}
    assert client.post(f"/simulations/runs/{run.id}/step", data=data).status_code == 302
    page = client.get(f"/simulations/runs/{run.id}").text
    feedback = page[page.index('id="last-feedback"') : page.index('id="scene"')]
    assert "照老办法，把要去盖章的地方一个个写在纸上给她。" in feedback
    assert "跑5个地方" in feedback and 'class="card sim-feedback bad"' in page


def test_option_not_offered_is_refused_and_nothing_changes(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    before = _state(run)
    r = client.post(
        f"/simulations/runs/{run.id}/step",
        data={"seq": "1", "step": "first_reply", "option": "hack"},
    )
    assert r.status_code == 409
    assert "这个选项不在本步的选项中" in r.text
    assert _state(run) == before


def test_replayed_and_out_of_order_steps_are_refused(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    client.post(
        f"/simulations/runs/{run.id}/step",
        data={"seq": "1", "step": "first_reply", "option": "comfort_local"},
    )
    before = _state(run)
    replay = client.post(
        f"/simulations/runs/{run.id}/step",
        data={"seq": "1", "step": "first_reply", "option": "send_town"},
    )
    assert replay.status_code == 409 and "不能重复提交" in replay.text
    ahead = client.post(
        f"/simulations/runs/{run.id}/step",
        data={"seq": "2", "step": "amount_question", "option": "check_local"},
    )
    assert ahead.status_code == 409
    assert _state(run) == before
    assert 'data-step="who_applies"' in ahead.text  # shows where the run really is


def test_a_step_from_a_session_signed_out_everywhere_takes_nothing(client, world, login_as, sim):
    """The step checks the account inside its own SELECT (no user loaded first): after
    "sign out everywhere" the old session is sent to the login page and nothing changes."""
    run = _start(client, login_as, world, sim)
    world.agent_user.session_version += 1
    db.session.commit()
    r = client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert _state(run) == (0, "greet", 0)


def test_a_step_with_a_giant_sequence_number_is_refused_not_a_crash(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    r = client.post(f"/simulations/runs/{run.id}/step", data={"seq": "9" * 5000, "step": "greet"})
    assert r.status_code == 409 and "不能重复提交" in r.text
    assert _state(run) == (0, "greet", 0)


def test_another_agents_run_is_not_found(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    other = world.west_agent_user
    db.session.commit()
    login_as(other)
    assert client.get(f"/simulations/runs/{run.id}").status_code == 404
    r = client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    assert r.status_code == 404
    assert _state(run) == (0, "greet", 0)


def test_a_retired_version_takes_no_steps_and_a_new_version_keeps_old_runs(
    client, world, login_as, sim
):
    run = _start(client, login_as, world, sim)
    old_version = run.version_id
    load_case(sample_case(world.item.slug, title="老伴走了（修订）"))
    db.session.refresh(sim)
    assert sim.current_version == 2
    # an edit does not move running runs: still version 1, still playable
    r = client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    assert r.status_code == 302 and run.version_id == old_version
    services.retire_version(run.version)
    db.session.commit()
    before = _state(run)
    r = client.post(
        f"/simulations/runs/{run.id}/step",
        data={"seq": "1", "step": "first_reply", "option": "comfort_local"},
    )
    assert r.status_code == 409 and "版本已停用" in r.text
    assert _state(run) == before


def test_marking_a_reply_updates_the_run_score(client, world, login_as, sim):
    run = services.start_run(world.east_agent, sim, seed=1)
    services.play(run, "best")
    db.session.commit()
    assert run.pending_marks == 1 and run.score < 100
    login_as(world.expert)
    queue = client.get("/simulations/marking")
    assert "待评分的答复（1 条）" in queue.text
    row = next(s for s in run.steps if s.kind == "free_text")
    bad = client.post(f"/simulations/marking/{row.id}", data={"points": "9"})
    assert bad.status_code == 302
    db.session.refresh(run)
    assert run.pending_marks == 1  # out of range: refused, nothing changed
    client.post(f"/simulations/marking/{row.id}", data={"points": "6", "note": "说得很全"})
    db.session.refresh(run)
    assert run.pending_marks == 0 and run.score == 100
    login_as(world.agent_user)
    page = client.get(f"/simulations/runs/{run.id}/debrief")
    assert "<b>100</b>" in page.text


def test_debrief_links_mistakes_to_module_sections(client, world, login_as, sim):
    run = services.start_run(world.east_agent, sim, seed=1)
    services.play(run, "worst")
    db.session.commit()
    login_as(world.agent_user)
    page = client.get(f"/simulations/runs/{run.id}/debrief")
    assert "哪里丢了分" in page.text
    assert f"/learn/{world.item.slug}#materials" in page.text
    assert "要一次性告知村民的事" in page.text
    assert "养老金从去世的次月起停发" in page.text


def test_head_sees_only_own_township_results(client, world, login_as, sim):
    east = services.start_run(world.east_agent, sim, seed=1)
    services.play(east, "best")
    west = services.start_run(world.west_agent, sim, seed=1)
    services.play(west, "worst")
    db.session.commit()
    login_as(world.east_head)
    page = client.get("/simulations/results")
    assert world.east_agent.name in page.text and world.west_agent.name not in page.text
    (summary,) = services.agent_summaries(Scope.of(world.east_head))
    assert summary.agent_name == world.east_agent.name and summary.solved == 1
    login_as(world.admin)
    page = client.get("/simulations/results")
    assert world.east_agent.name in page.text and world.west_agent.name in page.text


def test_upload_with_errors_lists_all_and_saves_nothing(client, world, login_as, sim):
    import yaml

    login_as(world.expert)
    data = sample_case(world.item.slug, slug="broken-case")
    data["steps"][1]["options"][0]["next"] = "nowhere"
    data["steps"].append({"id": "orphan", "kind": "dialogue", "text": "多余", "next": "greet"})
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    r = client.post("/simulations/new", data={"text": text})
    assert r.status_code == 422
    assert "下一步 “nowhere” 不存在" in r.text
    assert "<svg" in r.text  # the graph drawn with the broken steps
    assert services.case_by_slug("broken-case") is None


def test_upload_valid_case_then_preview_and_graph(client, world, login_as, sim):
    import yaml

    login_as(world.expert)
    data = sample_case(world.item.slug, slug="new-case", title="新案例")
    r = client.post("/simulations/new", data={"text": yaml.safe_dump(data, allow_unicode=True)})
    assert r.status_code == 302
    assert services.case_by_slug("new-case").versions[0].number == 1
    svg = client.get("/simulations/new-case/graph.svg")
    assert svg.mimetype == "image/svg+xml" and "结局：一次办结" in svg.text
    r = client.post("/simulations/new-case/preview")
    assert "/simulations/runs/" in r.headers["Location"]
    page = client.get(r.headers["Location"])
    assert "预览（不计成绩）" in page.text


def test_step_statistics_show_where_agents_fail(client, world, login_as, sim):
    for seed, path in ((1, "best"), (2, "worst"), (3, "worst")):
        services.play(services.start_run(world.east_agent, sim, seed=seed), path)
    db.session.commit()
    stats = services.step_statistics(sim)
    first = stats[0]
    assert first.mean_fraction is not None and first.mean_fraction < 0.5
    login_as(world.expert)
    page = client.get(f"/simulations/{sim.slug}")
    assert "各步统计" in page.text


def test_agents_from_other_roles_cannot_start(client, world, login_as, sim):
    login_as(world.east_head)
    assert client.post(f"/simulations/{sim.slug}/start").status_code == 403


def test_simulation_score_counts_for_certification(client, world, login_as, sim):
    from academy.certification.models import CertificationScheme
    from academy.certification.rules import Requirement, eligibility
    from academy.certification.services import _simulation_score

    scheme = CertificationScheme(
        code="sim-test",
        name="测试认证",
        item_id=world.item.id,
        level="junior",
        min_simulation_score=80,
    )
    assert _simulation_score(world.east_agent.id, scheme) is None
    run = services.start_run(world.east_agent, sim, seed=1)
    services.play(run, "best")
    db.session.flush()
    assert run.pending_marks == 1
    assert _simulation_score(world.east_agent.id, scheme) is None  # not final until marked
    row = next(s for s in run.steps if s.kind == "free_text")
    services.mark_reply(world.expert, row, 6, None)
    best = _simulation_score(world.east_agent.id, scheme)
    assert best == 100
    req = Requirement(frozenset({world.item.id}), None, 80)
    assert eligibility(req, {world.item.id}, None, best).eligible


def test_events_logged_for_started_step_completed_marked(client, world, login_as, sim):
    import sqlalchemy as sa

    from academy.activity.models import LearningEvent, ObjectType

    run = services.start_run(world.east_agent, sim, seed=1)
    services.play(run, "best")
    row = next(s for s in run.steps if s.kind == "free_text")
    services.mark_reply(world.expert, row, 5, None)
    verbs = list(
        db.session.scalars(
            sa.select(LearningEvent.verb).where(LearningEvent.object_type == ObjectType.SIMULATION)
        )
    )
    assert {v.value for v in verbs} == {"started", "stepped", "completed", "graded"}


def _simulation_events(verb: str) -> list:
    import sqlalchemy as sa

    from academy.activity.models import LearningEvent, ObjectType

    return list(
        db.session.scalars(
            sa.select(LearningEvent).where(
                LearningEvent.object_type == ObjectType.SIMULATION,
                LearningEvent.verb == verb,
            )
        )
    )


def test_a_case_played_on_the_web_logs_each_step_once_with_the_agents_place(
    client, world, login_as, sim
):
    run = _start(client, login_as, world, sim)
    _play_best(client, run)
    taken = [s for s in run.steps if s.kind != "end"]  # the end is reached, not posted
    stepped = _simulation_events("stepped")
    assert sorted(e.object_id for e in stepped) == sorted(f"{run.id}/{s.step_id}" for s in taken)
    (completed,) = _simulation_events("completed")
    assert completed.object_id == str(run.id) and completed.result["score"] == run.score
    for event in [*stepped, completed]:
        assert event.agent_id == world.east_agent.id
        assert (event.township_id, event.village_id) == (world.east.id, world.east_village.id)
    # a step posted again after the end changes nothing and logs nothing
    r = client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    assert r.status_code in (302, 409)
    assert len(_simulation_events("stepped")) == len(stepped)


def test_agent_home_and_practice_link_to_simulations(client, world, login_as, sim):
    login_as(world.agent_user)
    assert "/simulations/" in client.get("/home").text
    practice = client.get("/practice/")
    assert practice.status_code == 200


def test_a_retired_open_run_is_not_resumed_a_new_one_starts(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    load_case(sample_case(world.item.slug, title="修订版"))
    services.retire_version(run.version)
    db.session.commit()
    r = client.post(f"/simulations/{sim.slug}/start")
    assert not r.headers["Location"].endswith(f"/runs/{run.id}")
    new = db.session.get(SimRun, int(r.headers["Location"].rsplit("/", 1)[1]))
    assert new.version.number == 2


def test_the_same_step_posted_twice_at_once_is_refused(client, world, login_as, sim):
    run = _start(client, login_as, world, sim)
    # the other post won between our check and our insert: its row holds seq 1 already
    db.session.add(
        RunStep(run=run, seq=1, step_id="greet", kind="dialogue", response=None, result={})
    )
    db.session.commit()
    r = client.post(f"/simulations/runs/{run.id}/step", data={"seq": "0", "step": "greet"})
    assert r.status_code == 409 and "不能重复提交" in r.text
    assert _simulation_events("stepped") == []  # the losing post logged nothing either


def test_booklet_prints_every_live_case_and_roles_are_enforced(client, world, login_as, sim):
    login_as(world.agent_user)
    booklet = client.get("/simulations/booklet")
    assert booklet.status_code == 200 and sim.title in booklet.text
    assert "要一次性告知的事" in booklet.text
    assert client.get("/simulations/results").status_code == 403
    assert client.get("/simulations/marking").status_code == 403
    assert client.get("/simulations/new").status_code == 403
    login_as(world.expert)
    assert client.post(f"/simulations/{sim.slug}/start").status_code == 403
