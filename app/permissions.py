"""Who may see and do what: roles, the actor, and the permission table (tested, documented)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "PERMISSIONS",
    "Actor",
    "Permission",
    "Role",
    "Scope",
    "can",
    "can_act_on",
    "permission_table_markdown",
    "scope_of",
]


class Role(enum.StrEnum):
    """A user's role, plus ``system`` for the daemon and the pipeline acting on their own."""

    OPERATOR = "operator"
    EXECUTOR = "executor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"


class Permission(enum.StrEnum):
    """Something a user may be allowed to do outside the incident transitions themselves."""

    VIEW_INCIDENTS = "view_incidents"
    ACT_ON_INCIDENTS = "act_on_incidents"
    VIEW_DASHBOARDS = "view_dashboards"
    VIEW_ESCALATIONS = "view_escalations"
    MANAGE_USERS = "manage_users"
    MANAGE_SOURCES = "manage_sources"
    MANAGE_RULES = "manage_rules"


class Scope(enum.StrEnum):
    """Which incidents a permission covers."""

    ALL = "all"
    ASSIGNED = "assigned"  # only incidents actively assigned to the actor's executor


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user (id, role, and for executors' staff the executor's code) or system."""

    role: Role
    user_id: int | None = None
    executor_code: str | None = None

    def __post_init__(self) -> None:
        if self.role is Role.EXECUTOR and not self.executor_code:
            raise ValueError("an executor's employee must name the executor")
        if self.role is not Role.EXECUTOR and self.executor_code is not None:
            raise ValueError(f"a {self.role.value} does not belong to an executor")


_ALL, _ASSIGNED = Scope.ALL, Scope.ASSIGNED

#: The permission table: role → permission → scope (absent: not allowed).
#: Which workflow transitions each role may make is the transition table in app/workflow.py;
#: ACT_ON_INCIDENTS gives the scope they apply to.
PERMISSIONS: Mapping[Role, Mapping[Permission, Scope]] = MappingProxyType(
    {
        Role.OPERATOR: MappingProxyType(
            {Permission.VIEW_INCIDENTS: _ALL, Permission.ACT_ON_INCIDENTS: _ALL}
        ),
        Role.EXECUTOR: MappingProxyType(
            {Permission.VIEW_INCIDENTS: _ASSIGNED, Permission.ACT_ON_INCIDENTS: _ASSIGNED}
        ),
        Role.SUPERVISOR: MappingProxyType(
            {
                Permission.VIEW_INCIDENTS: _ALL,
                Permission.ACT_ON_INCIDENTS: _ALL,
                Permission.VIEW_DASHBOARDS: _ALL,
                Permission.VIEW_ESCALATIONS: _ALL,
            }
        ),
        Role.ADMIN: MappingProxyType(
            {
                Permission.VIEW_INCIDENTS: _ALL,
                Permission.VIEW_DASHBOARDS: _ALL,
                Permission.MANAGE_USERS: _ALL,
                Permission.MANAGE_SOURCES: _ALL,
                Permission.MANAGE_RULES: _ALL,
            }
        ),
        Role.SYSTEM: MappingProxyType(
            {Permission.VIEW_INCIDENTS: _ALL, Permission.ACT_ON_INCIDENTS: _ALL}
        ),
    }
)


def scope_of(actor: Actor, permission: Permission) -> Scope | None:
    """Return the scope in which the actor holds the permission, or None."""
    return PERMISSIONS[actor.role].get(permission)


def can(actor: Actor, permission: Permission, incident_executor: str | None = None) -> bool:
    """Return whether the actor holds the permission for an incident with this active executor.

    For permissions that are not about one incident, leave ``incident_executor`` out: an
    ``assigned`` scope then never suffices.
    """
    scope = scope_of(actor, permission)
    if scope is Scope.ALL:
        return True
    if scope is Scope.ASSIGNED:
        return incident_executor is not None and incident_executor == actor.executor_code
    return False


def can_act_on(actor: Actor, incident_executor: str | None) -> bool:
    """Return whether the actor may act on an incident whose active executor is given."""
    return can(actor, Permission.ACT_ON_INCIDENTS, incident_executor)


def permission_table_markdown() -> str:
    """Render the permission table as the Markdown table docs/workflow.md shows."""
    header = "| permission | " + " | ".join(role.value for role in Role) + " |"
    lines = [header, "| --- |" + " --- |" * len(Role)]
    for permission in Permission:
        cells = [
            scope.value if (scope := PERMISSIONS[role].get(permission)) else "—" for role in Role
        ]
        lines.append(f"| `{permission.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
