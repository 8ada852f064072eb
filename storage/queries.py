"""Read-only questions about incidents: one, a filtered list, a timeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true

from storage import directory
from storage.actors import Actor
from storage.clock import Clock, SystemClock
from storage.db import Database
from storage.directory import Readable
from storage.errors import InvalidInput, NotFound
from storage.models import Alert, Incident, IncidentEvent, Person, Team
from storage.states import ACTIVE, Severity, Status
from storage.viewbuild import alert_counts, alert_view, full_view, full_views, incident_view, timeline_entry
from storage.views import AlertView, IncidentView, TimelineEntry

MAX_PAGE = 200


@dataclass(frozen=True)
class IncidentFilter:
    statuses: tuple[Status, ...] = ()
    severity: Severity | None = None
    team: str | None = None
    service: str | None = None
    assignee_id: int | None = None
    title_contains: str | None = None  # case-insensitive, taken literally (% and _ are no wildcards)
    opened_from: datetime | None = None  # created at or after
    opened_to: datetime | None = None  # created before
    readable: frozenset[int | None] | None = None  # only incidents of these teams (None: without a team)
    limit: int = 50
    offset: int = 0

    @classmethod
    def open(cls, **kwargs) -> IncidentFilter:
        return cls(statuses=tuple(sorted(ACTIVE)), **kwargs)


def of_teams(teams: frozenset[int | None] | None) -> ColumnElement[bool]:
    """The clause that keeps incidents of ``teams`` (a ``Readable``'s), or all of them for None."""
    if teams is None:
        return true()
    ids = sorted(t for t in teams if t is not None)
    clauses = [Incident.team_id.in_(ids)] if ids else []
    if None in teams:
        clauses.append(Incident.team_id.is_(None))
    return or_(*clauses) if clauses else false()


def _filtered(query: Select, f: IncidentFilter) -> Select:
    if f.readable is not None:
        query = query.where(of_teams(f.readable))
    if f.statuses:
        query = query.where(Incident.status.in_([s.value for s in f.statuses]))
    if f.severity:
        query = query.where(Incident.severity == f.severity.value)
    if f.team:
        query = query.join(Team, Team.id == Incident.team_id).where(func.lower(Team.name) == f.team.lower())
    if f.service:
        query = query.where(Incident.service == f.service)
    if f.assignee_id is not None:
        query = query.where(Incident.assignee_id == f.assignee_id)
    if f.title_contains:
        query = query.where(Incident.title.icontains(f.title_contains, autoescape=True))
    if f.opened_from is not None:
        query = query.where(Incident.created_at >= f.opened_from)
    if f.opened_to is not None:
        query = query.where(Incident.created_at < f.opened_to)
    return query


class IncidentQueries:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()  # the instant of a card's "On call" line

    async def readable(self, actor: Actor) -> Readable:
        """What ``actor`` may read (refuses the unlinked and people without a role)."""
        async with self.db.sessions() as session:
            return await directory.readable(session, actor)

    async def get(self, number: int, reader: Readable | None = None) -> IncidentView:
        """One incident; with ``reader``, only if they may read it."""
        async with self.db.sessions() as session:
            incident = await session.scalar(select(Incident).where(Incident.number == number))
            if incident is None:
                raise NotFound(f"there is no incident #{number}")
            view = await full_view(session, incident, self.clock.now())
        if reader is not None:
            reader.check(incident.team_id, number, view.team.name if view.team else None)
        return view

    async def list(self, f: IncidentFilter, reader: Readable | None = None, *,
                   alerts: bool = False) -> tuple[list[IncidentView], int]:
        """Incidents matching ``f``, newest first, and how many match in all; with ``reader``, only those
        they may read (asking for a team they may not read is refused). With ``alerts``, each view has its
        first alerts and links, as ``get`` gives (a board of cards), in the same few queries."""
        if not 1 <= f.limit <= MAX_PAGE or f.offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0")
        async with self.db.sessions() as session:
            if reader is not None:
                await reader.check_team(session, f.team)
                f = replace(f, readable=reader.teams)
            total = await session.scalar(_filtered(select(func.count(Incident.id)), f))
            rows = (
                await session.scalars(
                    _filtered(select(Incident), f).order_by(Incident.number.desc()).limit(f.limit).offset(f.offset)
                )
            ).unique().all()
            if alerts:
                return await full_views(session, rows, self.clock.now()), int(total or 0)
            counts = await alert_counts(session, [i.id for i in rows])
            return [incident_view(i, counts[i.id]) for i in rows], int(total or 0)

    async def team_names(self, reader: Readable | None = None) -> list[str]:
        """The names of the teams whose incidents ``reader`` may read (every team without one), sorted."""
        query = select(Team.name).order_by(Team.name)
        if reader is not None and reader.teams is not None:
            query = query.where(Team.id.in_(sorted(t for t in reader.teams if t is not None)))
        async with self.db.sessions() as session:
            return list((await session.scalars(query)).all())

    async def timeline(self, number: int, reader: Readable | None = None) -> list[TimelineEntry]:
        async with self.db.sessions() as session:
            row = (await session.execute(select(Incident.id, Incident.team_id)
                                         .where(Incident.number == number))).first()
            if row is None:
                raise NotFound(f"there is no incident #{number}")
            incident_id = row.id
            if reader is not None:
                reader.check(row.team_id, number)
            events = await session.scalars(
                select(IncidentEvent).where(IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.id)
            )
            return [timeline_entry(e) for e in events]

    async def alerts(self, number: int | None = None, status: str | None = None, limit: int = 100,
                     reader: Readable | None = None) -> list[AlertView]:
        """Alerts, newest first; with ``reader``, only those of incidents they may read."""
        async with self.db.sessions() as session:
            query = select(Alert).order_by(Alert.id.desc()).limit(min(limit, MAX_PAGE))
            if number is not None or reader is not None:
                query = query.join(Incident, Incident.id == Alert.incident_id)
            if number is not None:
                query = query.where(Incident.number == number)
            if reader is not None:
                query = query.where(of_teams(reader.teams))
            if status:
                query = query.where(Alert.status == status)
            return [alert_view(a) for a in await session.scalars(query)]

    async def person_id(self, email_or_name: str) -> int | None:
        async with self.db.sessions() as session:
            return await session.scalar(
                select(Person.id).where(
                    (func.lower(Person.email) == email_or_name.lower()) | (Person.name == email_or_name)
                )
            )
