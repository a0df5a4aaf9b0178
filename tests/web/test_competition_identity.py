"""Judges see candidate numbers only — on every page a judge opens, for every candidate,
at every stage: the queue, each marking page before and after submitting (when the
panel's marks show), the competition pages, the chief judge's panel and rater analysis,
and the marking pages once the round is locked."""

from __future__ import annotations

import sqlalchemy as sa

from academy.competition import judging
from academy.competition.models import Assignment, Entry
from academy.extensions import db
from tests.competition_world import build


def _secrets(s) -> list[str]:
    out = []
    for e in s.entries:
        out += [e.agent.name, e.village.name, e.township.name]
    return out


def _check(client, url: str, secrets: list[str], seen: set[str]) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    html = r.get_data(as_text=True)
    leaked = [x for x in secrets if x in html]
    assert not leaked, f"{url} shows {leaked}"
    seen.add(url)
    return html


def test_no_judge_page_names_any_candidate_at_any_stage(world, login_as):
    s = build(world)
    judging.assign(s.chief, s.live, seed=11)
    db.session.commit()
    secrets = _secrets(s)
    assert len(secrets) == 3 * len(s.entries)
    assigned: dict[int, list[int]] = {}
    for a in db.session.scalars(sa.select(Assignment).where(Assignment.round_id == s.live.id)):
        assigned.setdefault(a.judge_id, []).append(a.entry_id)
    numbers = {e.id: e.number for e in db.session.scalars(sa.select(Entry))}
    users = {j.id: db.session.get(type(s.chief), j.user_id) for j in s.judges}
    seen: set[str] = set()
    mark = f"/competitions/rounds/{s.live.id}/mark/{{}}"
    values = {f"c{c.id}": v for c, v in zip(s.live.criteria, ("8", "2", "2"), strict=True)}

    # before and after each judge submits each of their candidates
    for judge in s.judges:
        client = login_as(users[judge.id])
        queue = _check(client, "/competitions/judging", secrets, seen)
        for entry_id in assigned[judge.id]:
            assert f"{numbers[entry_id]} 号选手" in queue
        _check(client, "/competitions/", secrets, seen)
        _check(client, f"/competitions/{s.comp.id}", secrets, seen)
        for entry_id in assigned[judge.id]:
            html = _check(client, mark.format(entry_id), secrets, seen)
            assert f"{numbers[entry_id]} 号选手" in html and "评委组" not in html
            r = client.post(mark.format(entry_id), data={**values, "submit": "1"})
            assert r.status_code == 302
            html = _check(client, mark.format(entry_id), secrets, seen)
            assert "您已提交" in html and "评委组" in html
        _check(client, "/competitions/judging", secrets, seen)

    # the chief judge's pages with every mark in, then the round locked
    chief = login_as(s.chief)
    _check(chief, f"/competitions/rounds/{s.live.id}/panel", secrets, seen)
    _check(chief, f"/competitions/rounds/{s.live.id}/raters", secrets, seen)
    r = chief.post(f"/competitions/rounds/{s.live.id}/lock")
    assert r.status_code == 302
    db.session.expire_all()
    assert s.live.locked
    for judge in s.judges:
        client = login_as(users[judge.id])
        _check(client, f"/competitions/{s.comp.id}", secrets, seen)
        for entry_id in assigned[judge.id]:
            assert "本轮已锁定" in _check(client, mark.format(entry_id), secrets, seen)
    chief = login_as(s.chief)  # the same test client, logged in again
    _check(chief, f"/competitions/rounds/{s.live.id}/panel", secrets, seen)
    # every candidate was looked at by its whole panel
    assert {e for es in assigned.values() for e in es} == {e.id for e in s.entries}
    assert len(seen) >= 4 + len(s.entries)
