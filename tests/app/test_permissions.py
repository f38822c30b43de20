"""Test the permission table: who sees and does what, and in which scope."""

from __future__ import annotations

import pytest

from app.permissions import PERMISSIONS, Actor, Permission, Role, Scope, can, can_act_on, scope_of

P = Permission
A, M = Scope.ALL, Scope.ASSIGNED

# The table as DESIGN.md states it, written out independently of app/permissions.py.
EXPECTED: dict[Role, dict[Permission, Scope]] = {
    Role.OPERATOR: {P.VIEW_INCIDENTS: A, P.ACT_ON_INCIDENTS: A},
    Role.EXECUTOR: {P.VIEW_INCIDENTS: M, P.ACT_ON_INCIDENTS: M},
    Role.SUPERVISOR: {
        P.VIEW_INCIDENTS: A,
        P.ACT_ON_INCIDENTS: A,
        P.VIEW_DASHBOARDS: A,
        P.VIEW_ESCALATIONS: A,
    },
    Role.ADMIN: {
        P.VIEW_INCIDENTS: A,
        P.VIEW_DASHBOARDS: A,
        P.MANAGE_USERS: A,
        P.MANAGE_SOURCES: A,
        P.MANAGE_RULES: A,
    },
    Role.SYSTEM: {P.VIEW_INCIDENTS: A, P.ACT_ON_INCIDENTS: A},
}

ACTORS = {
    Role.OPERATOR: Actor(Role.OPERATOR, 1),
    Role.EXECUTOR: Actor(Role.EXECUTOR, 2, "minzdrav"),
    Role.SUPERVISOR: Actor(Role.SUPERVISOR, 3),
    Role.ADMIN: Actor(Role.ADMIN, 4),
    Role.SYSTEM: Actor(Role.SYSTEM),
}
CELLS = [(role, permission) for role in Role for permission in Permission]


def test_table_is_the_documented_one() -> None:
    assert {role: dict(row) for role, row in PERMISSIONS.items()} == EXPECTED


@pytest.mark.parametrize(("role", "permission"), CELLS, ids=[f"{r}-{p}" for r, p in CELLS])
def test_every_cell(role: Role, permission: Permission) -> None:
    actor = ACTORS[role]
    expected = EXPECTED[role].get(permission)
    assert scope_of(actor, permission) is expected
    own, other, nobody = "minzdrav", "mintrans", None
    assert can(actor, permission, own) is (expected is not None)
    assert can(actor, permission, other) is (expected is A)
    assert can(actor, permission, nobody) is (expected is A)
    assert can(actor, permission) is (expected is A)


def test_executor_acts_only_on_its_own() -> None:
    executor = ACTORS[Role.EXECUTOR]
    assert can_act_on(executor, "minzdrav")
    assert not can_act_on(executor, "mintrans")
    assert not can_act_on(executor, None)
    assert can_act_on(ACTORS[Role.OPERATOR], "mintrans")
    assert not can_act_on(ACTORS[Role.ADMIN], "mintrans")


def test_actor_must_match_its_role() -> None:
    with pytest.raises(ValueError, match="must name the executor"):
        Actor(Role.EXECUTOR, 5)
    with pytest.raises(ValueError, match="does not belong"):
        Actor(Role.OPERATOR, 5, "minzdrav")
