"""The seven roles and the one permission table that every surface obeys."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OBSERVER = "observer"
    STAKEHOLDER = "stakeholder"
    RESPONDER = "responder"
    INCIDENT_COMMANDER = "incident_commander"
    TEAM_LEAD = "team_lead"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Permission(StrEnum):
    VIEW = "view"
    DECLARE = "declare"
    NOTE = "note"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    SNOOZE = "snooze"
    ASSIGN = "assign"
    CANCEL = "cancel"
    CHANGE_SEVERITY = "change_severity"
    MANAGE_POLICIES = "manage_policies"
    MANAGE_TEAMS = "manage_teams"


_P = Permission
_OBSERVER = frozenset({_P.VIEW})
_STAKEHOLDER = _OBSERVER | {_P.DECLARE, _P.NOTE}
_RESPONDER = _STAKEHOLDER | {_P.ACKNOWLEDGE, _P.RESOLVE, _P.ESCALATE, _P.SNOOZE}
_COMMANDER = _RESPONDER | {_P.ASSIGN, _P.CANCEL, _P.CHANGE_SEVERITY}
_TEAM_LEAD = _COMMANDER | {_P.MANAGE_POLICIES}
_MANAGER = _TEAM_LEAD | {_P.MANAGE_TEAMS}

#: Who may do what. The only place in the code base that answers that question.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OBSERVER: _OBSERVER,
    Role.STAKEHOLDER: _STAKEHOLDER,
    Role.RESPONDER: _RESPONDER,
    Role.INCIDENT_COMMANDER: _COMMANDER,
    Role.TEAM_LEAD: _TEAM_LEAD,
    Role.MANAGER: _MANAGER,
    Role.ADMIN: frozenset(Permission),
}


def allows(role: Role | None, permission: Permission) -> bool:
    """Whether a person holding ``role`` may do ``permission``."""
    return role is not None and permission in PERMISSIONS[role]


def least_role_for(permission: Permission) -> Role:
    """The lowest role that grants ``permission`` (used in refusal messages)."""
    return next(role for role in Role if permission in PERMISSIONS[role])
