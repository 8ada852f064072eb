"""Maintenance windows in the database (docs/noise.md): alerts matching one page nobody while it lasts.

A window matches an alert-born incident by team, service and labels (every one given must match; a
window naming none matches every alert-born incident: a global window). Opening or ending a window for a
team needs team lead or above in that team; a window without a team (service, labels or global) touches
every team's incidents, so it needs an admin. The escalation engine reads the windows when a step comes due
(escalation/gates.py), so every process sees the same ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import directory
from storage.actors import Actor
from storage.directory import Principal
from storage.errors import InvalidInput, NotFound, PermissionDenied
from storage.models import Incident, MaintenanceWindow, Team
from storage.roles import Role

TEAM_ROLE = Role.TEAM_LEAD  # the least role that opens or ends a window for one's team
MAX_LENGTH = timedelta(days=14)  # longer than any planned maintenance: a typo (2000h) is refused
CONFIG = "config"


@dataclass(frozen=True)
class Window:
    """A window as every surface shows it."""

    id: int
    team: str | None
    service: str | None
    labels: Mapping[str, str]
    start: datetime
    end: datetime
    reason: str | None
    created_by: str
    source: str
    ended_at: datetime | None = None

    @property
    def scope(self) -> str:
        """What the window covers, in the words of the chat command: "payments service=db env=prod"."""
        parts = ([f"team {self.team}"] if self.team else []) + ([f"service={self.service}"] if self.service else [])
        parts += [f"{k}={v}" for k, v in sorted(self.labels.items())]
        return " ".join(parts) or "every alert (global)"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "team": self.team, "service": self.service, "labels": dict(self.labels),
                "starts_at": self.start.isoformat(), "ends_at": self.end.isoformat(), "reason": self.reason,
                "created_by": self.created_by, "source": self.source,
                "ended_at": self.ended_at.isoformat() if self.ended_at else None}


def _window(row: MaintenanceWindow, team: str | None) -> Window:
    return Window(row.id, team, row.service, dict(row.labels or {}), row.start_at, row.end_at, row.reason,
                  row.created_by, row.source, row.ended_at)


def covers(row: MaintenanceWindow, team_id: int | None, service: str | None, labels: Mapping[str, Any]) -> bool:
    """Whether the window matches an incident of ``team_id``/``service`` with ``labels``."""
    if row.team_id is not None and row.team_id != team_id:
        return False
    if row.service is not None and row.service != service:
        return False
    return all(str(labels.get(k)) == str(v) for k, v in (row.labels or {}).items())


def _running(now: datetime):
    return (MaintenanceWindow.ended_at.is_(None), MaintenanceWindow.start_at <= now, MaintenanceWindow.end_at > now)


async def covering(session: AsyncSession, incident: Incident, now: datetime) -> MaintenanceWindow | None:
    """The running window that holds ``incident``'s pages at ``now`` (the one ending last), if any."""
    return await covering_view(session, incident.team_id, incident.service, incident.labels or {}, now)


async def covering_view(session: AsyncSession, team_id: int | None, service: str | None,
                        labels: Mapping[str, Any], now: datetime) -> MaintenanceWindow | None:
    """``covering`` for an incident known by its fields (the chat cards read views, not rows)."""
    rows = await session.scalars(select(MaintenanceWindow).where(*_running(now))
                                 .order_by(MaintenanceWindow.end_at.desc(), MaintenanceWindow.id))
    return next((r for r in rows if covers(r, team_id, service, labels)), None)


async def _check(session: AsyncSession, principal: Principal, team: Team | None, verb: str) -> None:
    role = await directory.role_in(session, principal, team.id if team else None)
    if team is not None:
        if role is None or role.rank < TEAM_ROLE.rank:
            raise PermissionDenied(f"{principal.name} is {role.value if role else 'not a member'} in team {team.name}; "
                                   f"to {verb} its maintenance windows it needs {TEAM_ROLE.value} or above")
    elif role is not Role.ADMIN:
        raise PermissionDenied(f"{principal.name} may not {verb} a maintenance window without a team (it would hold "
                               "every team's pages): that needs an admin; team leads name their team, e.g. "
                               "'/incident maintenance start payments 2h'")


def _validate(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise InvalidInput(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
                           "give the start first")
    if end <= now:
        raise InvalidInput(f"the window would be over already (it ends {end.isoformat()}); give a time to come")
    if end - start > MAX_LENGTH:
        raise InvalidInput(f"a maintenance window lasts at most {MAX_LENGTH.days} days; split a longer one")


async def create(session: AsyncSession, actor: Actor, team_name: str | None, service: str | None,
                 labels: Mapping[str, str], start: datetime, end: datetime, reason: str | None,
                 now: datetime) -> Window:
    """Open a window [start, end) for the matchers given, in the name of ``actor`` (role-checked)."""
    principal = await directory.resolve(session, actor)
    team = await directory.team_by_name(session, team_name) if team_name else None
    _validate(start, end, now)
    await _check(session, principal, team, "open")
    row = MaintenanceWindow(team_id=team.id if team else None, service=service or None, labels=dict(labels),
                            start_at=start, end_at=end, reason=reason or None, source=actor.source,
                            created_by=principal.name, created_at=now)
    session.add(row)
    await session.flush()
    return _window(row, team.name if team else None)


async def end(session: AsyncSession, actor: Actor, window_id: int, now: datetime) -> Window:
    """End window ``window_id`` now (or drop it before it starts); paging resumes at the next check."""
    principal = await directory.resolve(session, actor)
    row = await session.get(MaintenanceWindow, window_id)
    if row is None:
        raise NotFound(f"there is no maintenance window {window_id}; '/incident maintenance list' lists them")
    team = await session.get(Team, row.team_id) if row.team_id else None
    if row.ended_at is not None or row.end_at <= now:
        raise InvalidInput(f"maintenance window {window_id} is over already (it ended "
                           f"{(row.ended_at or row.end_at).isoformat()})")
    await _check(session, principal, team, "end")
    row.ended_at, row.ended_by = now, principal.name
    return _window(row, team.name if team else None)


async def listing(session: AsyncSession, now: datetime) -> list[Window]:
    """The windows running now or to come, soonest first."""
    teams = dict((await session.execute(select(Team.id, Team.name))).all())
    rows = await session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.ended_at.is_(None), MaintenanceWindow.end_at > now)
        .order_by(MaintenanceWindow.start_at, MaintenanceWindow.id))
    return [_window(r, teams.get(r.team_id)) for r in rows]


# -- the config file's ``maintenance:`` list ------------------------------------------------------


def config_key(team: str | None, service: str | None, labels: Mapping[str, str], start: datetime, end: datetime,
               reason: str | None) -> str:
    """A config entry's identity: its whole content, so that an edited entry is a new window."""
    raw = json.dumps([team, service, dict(sorted(labels.items())), start.isoformat(), end.isoformat(), reason])
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Planned:
    """One ``maintenance:`` entry of the config file."""

    team: str | None
    service: str | None
    labels: Mapping[str, str]
    start: datetime
    end: datetime
    reason: str | None

    @property
    def key(self) -> str:
        return config_key(self.team, self.service, self.labels, self.start, self.end, self.reason)


async def apply_config(session: AsyncSession, planned: Sequence[Planned], teams: Mapping[str, Team],
                       now: datetime) -> tuple[list[str], list[str]]:
    """Make the config file's windows exactly those of ``planned``: new entries are opened, entries no longer in
    the file are ended now, unchanged ones are left alone. Returns (created, removed) labels for the report."""
    existing = {r.config_key: r for r in await session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.source == CONFIG, MaintenanceWindow.ended_at.is_(None)))}
    created, removed = [], []
    for entry in planned:
        if existing.pop(entry.key, None) is not None:
            continue
        team = teams.get(entry.team) if entry.team else None
        session.add(MaintenanceWindow(team_id=team.id if team else None, service=entry.service,
                                      labels=dict(entry.labels), start_at=entry.start, end_at=entry.end,
                                      reason=entry.reason, source=CONFIG, config_key=entry.key,
                                      created_by="config file", created_at=now))
        created.append(f"maintenance window {entry.start.isoformat()}..{entry.end.isoformat()}")
    for row in existing.values():
        row.ended_at, row.ended_by = now, "config file"
        removed.append(f"maintenance window {row.id}")
    return created, removed
