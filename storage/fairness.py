"""The fairness report: per person over a window, hours on call, of them outside their working hours, pages
received, and pages at night, both in the person's own time zone (``person.timezone``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall, overrides, schedules
from storage.directory import Readable, team_by_name
from storage.models import Incident, Notification, Person

WORK_START, WORK_END = time(9), time(17)  # working hours, Monday to Friday, in the person's zone
NIGHT_START, NIGHT_END = time(22), time(7)  # a page in [22:00, 07:00) local is at night
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class Row:
    person: str  # email
    timezone: str
    hours: float
    hours_outside_working: float
    pages: int
    night_pages: int


def _working_seconds(start: datetime, end: datetime, zone: ZoneInfo) -> float:
    """Seconds of [start, end) inside 09:00-17:00 local, Monday to Friday (DST-correct: local days)."""
    total = 0.0
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() < 5:
            a = datetime.combine(day, WORK_START, tzinfo=zone).astimezone(UTC)
            b = datetime.combine(day, WORK_END, tzinfo=zone).astimezone(UTC)
            overlap = (min(b, end) - max(a, start)).total_seconds()
            total += max(0.0, overlap)
        day += timedelta(days=1)
    return total


def at_night(t: datetime, zone: ZoneInfo) -> bool:
    wall = t.astimezone(zone).time()
    return wall >= NIGHT_START or wall < NIGHT_END


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):  # a zone this machine does not know counts as UTC
        return ZoneInfo("UTC")


def compute(found: Iterable[oncall.Schedule], pages: Iterable[tuple[str, datetime]], zones: dict[str, str],
            start: datetime, end: datetime, covering: dict[str, list[oncall.Override]] | None = None) -> list[Row]:
    """The report over [start, end): ``pages`` are (email, when) pairs, ``zones`` each person's zone."""
    seconds: dict[str, float] = {}
    outside: dict[str, float] = {}
    paged: dict[str, int] = {}
    night: dict[str, int] = {}
    for schedule in found:
        for shift in oncall.timeline(schedule, start, end, (covering or {}).get(schedule.name, [])):
            if shift.who is None:
                continue
            who = shift.who.lower()
            length = (shift.end - shift.start).total_seconds()
            seconds[who] = seconds.get(who, 0.0) + length
            outside[who] = outside.get(who, 0.0) + length - _working_seconds(shift.start, shift.end,
                                                                             _zone(zones.get(who)))
    for who, when in pages:
        who = who.lower()
        paged[who] = paged.get(who, 0) + 1
        night[who] = night.get(who, 0) + at_night(when, _zone(zones.get(who)))
    return [Row(who, zones.get(who, "UTC"), round(seconds.get(who, 0.0) / 3600, 2),
                round(outside.get(who, 0.0) / 3600, 2), paged.get(who, 0), night.get(who, 0))
            for who in sorted(set(seconds) | set(paged))]


async def report(session: AsyncSession, reader: Readable, start: datetime, end: datetime,
                 team: str | None = None) -> list[Row]:
    """The report of the schedules ``reader`` may see (or ``team``'s), with the pages of incidents they may
    read: a page is one sent page notification per incident, step and target, however many channels."""
    found = await schedules.readable(session, reader, team)
    query = (select(Person.email, func.min(Notification.sent_at))
             .join(Person, Person.id == Notification.person_id).join(Incident, Incident.id == Notification.incident_id)
             .where(Notification.kind == "page", Notification.status == "SENT", Notification.sent_at >= start,
                    Notification.sent_at < end, Person.email.is_not(None))
             .group_by(Person.email, Notification.incident_id, Notification.step_id, Notification.reason))
    if team:
        query = query.where(Incident.team_id == (await team_by_name(session, team)).id)
    elif reader.teams is not None:
        readable = Incident.team_id.in_([t for t in reader.teams if t is not None])
        query = query.where(readable | Incident.team_id.is_(None) if None in reader.teams else readable)
    pages = [(email, when) for email, when in (await session.execute(query)).all()]
    zones = {email.lower(): tz for email, tz in
             (await session.execute(select(Person.email, Person.timezone).where(Person.email.is_not(None)))).all()}
    covering = await overrides.active(session, start, [s.name for s in found])
    return compute(found, pages, zones, start, end, covering)


def document(rows: list[Row], start: datetime, end: datetime, team: str | None) -> dict:
    """The JSON form (``GET /api/oncall/fairness``)."""
    return {"from": start.isoformat(), "to": end.isoformat(), "team": team,
            "working_hours": f"{WORK_START:%H:%M}-{WORK_END:%H:%M} Mon-Fri", "night": f"{NIGHT_START:%H:%M}-{NIGHT_END:%H:%M}",
            "people": [{"person": r.person, "timezone": r.timezone, "hours_on_call": r.hours,
                        "hours_outside_working_hours": r.hours_outside_working, "pages": r.pages,
                        "night_pages": r.night_pages} for r in rows]}
