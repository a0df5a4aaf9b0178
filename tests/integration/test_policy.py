"""The permission table and Scope values of academy.auth.policy, against the database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from academy.auth import policy
from academy.auth.models import Role
from academy.auth.policy import ROLE_PERMISSIONS, Permission, Scope, ScopeKind
from academy.extensions import db
from academy.roster import services as roster
from academy.roster.models import Agent, LeaveReason


def test_every_role_has_a_row_and_every_permission_a_holder():
    assert set(ROLE_PERMISSIONS) == set(Role)
    held = set().union(*ROLE_PERMISSIONS.values())
    assert held == set(Permission)


def test_township_heads_read_exams_but_do_not_manage_them():
    head = ROLE_PERMISSIONS[Role.TOWNSHIP_HEAD]
    assert Permission.VIEW_EXAM_RESULTS in head
    assert Permission.MANAGE_EXAMS not in head and Permission.MARK_ESSAYS not in head
    assert set(policy.roles_with(Permission.MANAGE_EXAMS)) == {Role.ADMIN, Role.EXPERT}


def test_scope_of_each_role(world):
    assert Scope.of(world.admin) == Scope.everything()
    assert Scope.of(world.expert) == Scope.everything()
    assert Scope.of(world.east_head) == Scope.township(world.east.id)
    assert Scope.of(world.agent_user) == Scope.agent(world.east_agent.id)
    assert Scope.of(None).kind == ScopeKind.NOTHING


def _townships(scope):
    return [t.id for t in policy.visible_townships(scope)]


def test_township_scopes(world):
    both = sorted([world.east.id, world.west.id])
    assert sorted(_townships(Scope.everything())) == both
    assert _townships(Scope.township(world.east.id)) == [world.east.id]
    assert _townships(Scope.except_township(world.east.id)) == [world.west.id]
    assert _townships(Scope.agent(world.east_agent.id)) == []
    assert _townships(Scope.nothing()) == []
    with pytest.raises(NotFound):
        policy.village_or_404(Scope.except_township(world.east.id), world.east_village.id)
    assert policy.village_or_404(Scope.except_township(world.east.id), world.west_village.id)


def _agents(scope) -> set[str]:
    return set(db.session.scalars(policy.scope_agents(sa.select(Agent.name), scope, Agent.id)))


def test_agents_follow_their_current_posting(world):
    east, west = Scope.township(world.east.id), Scope.township(world.west.id)
    assert {"张东", "李西"} <= _agents(Scope.everything())
    assert "张东" in _agents(east) and "张东" not in _agents(west)
    roster.transfer_agent(
        world.admin,
        world.east_agent.current_posting,
        world.west_village,
        date.today() - timedelta(days=3),
    )
    db.session.flush()
    assert "张东" not in _agents(east) and "张东" in _agents(west)
    assert "张东" not in _agents(Scope.except_township(world.west.id))
    assert _agents(Scope.agent(world.east_agent.id)) == {"张东"}
    assert _agents(Scope.nothing()) == set()


def test_an_agent_who_left_stays_with_their_last_township(world):
    roster.record_departure(
        world.east_head, world.east_agent.current_posting, date.today(), LeaveReason.RESIGNED
    )
    db.session.flush()
    assert "张东" in _agents(Scope.township(world.east.id))
    assert policy.visible_agent_ids(Scope.township(world.west.id), [world.east_agent.id]) == set()


def test_requested_township(app, world):
    head = Scope.township(world.east.id)
    with app.test_request_context("/"):
        assert policy.requested_township(head).id == world.east.id
        assert policy.requested_township(Scope.everything()) is None
    with app.test_request_context(f"/?township_id={world.west.id}"):
        assert policy.requested_township(Scope.everything()).id == world.west.id
        with pytest.raises(NotFound):
            policy.requested_township(head)
    for raw in ("x", "0", "1" * 12, "-1"):
        with app.test_request_context(f"/?township_id={raw}"), pytest.raises(NotFound):
            policy.requested_township(Scope.everything())
