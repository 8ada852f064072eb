"""Read-only questions about incidents: one, a filtered list, a timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from storage.db import Database
from storage.errors import InvalidInput, NotFound
from storage.models import Alert, Incident, IncidentEvent, Person, Team
from storage.states import ACTIVE, Severity, Status
from storage.viewbuild import alert_counts, alert_view, full_view, incident_view, timeline_entry
from storage.views import AlertView, IncidentView, TimelineEntry

MAX_PAGE = 200


@dataclass(frozen=True)
class IncidentFilter:
    statuses: tuple[Status, ...] = ()
    severity: Severity | None = None
    team: str | None = None
    service: str | None = None
    assignee_id: int | None = None
    limit: int = 50
    offset: int = 0

    @classmethod
    def open(cls, **kwargs) -> IncidentFilter:
        return cls(statuses=tuple(sorted(ACTIVE)), **kwargs)


def _filtered(query: Select, f: IncidentFilter) -> Select:
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
    return query


class IncidentQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, number: int) -> IncidentView:
        async with self.db.sessions() as session:
            incident = await session.scalar(select(Incident).where(Incident.number == number))
            if incident is None:
                raise NotFound(f"there is no incident #{number}")
            return await full_view(session, incident)

    async def list(self, f: IncidentFilter) -> tuple[list[IncidentView], int]:
        """Incidents matching ``f``, newest first, and how many match in all."""
        if not 1 <= f.limit <= MAX_PAGE or f.offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0")
        async with self.db.sessions() as session:
            total = await session.scalar(_filtered(select(func.count(Incident.id)), f))
            rows = (
                await session.scalars(
                    _filtered(select(Incident), f).order_by(Incident.number.desc()).limit(f.limit).offset(f.offset)
                )
            ).unique().all()
            counts = await alert_counts(session, [i.id for i in rows])
            return [incident_view(i, counts[i.id]) for i in rows], int(total or 0)

    async def timeline(self, number: int) -> list[TimelineEntry]:
        async with self.db.sessions() as session:
            incident_id = await session.scalar(select(Incident.id).where(Incident.number == number))
            if incident_id is None:
                raise NotFound(f"there is no incident #{number}")
            events = await session.scalars(
                select(IncidentEvent).where(IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.id)
            )
            return [timeline_entry(e) for e in events]

    async def alerts(self, number: int | None = None, status: str | None = None, limit: int = 100) -> list[AlertView]:
        async with self.db.sessions() as session:
            query = select(Alert).order_by(Alert.id.desc()).limit(min(limit, MAX_PAGE))
            if number is not None:
                query = query.join(Incident, Incident.id == Alert.incident_id).where(Incident.number == number)
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
