"""MTTA and MTTR: how quickly incidents are acknowledged and resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import mean

from sqlalchemy import func, select

from storage.db import Database
from storage.directory import Readable
from storage.models import Incident, Team
from storage.queries import of_teams
from storage.states import Severity


@dataclass(frozen=True)
class Durations:
    count: int = 0
    mtta_seconds: float | None = None
    mttr_seconds: float | None = None


@dataclass(frozen=True)
class Stats:
    since: datetime
    team: str | None
    overall: Durations
    by_status: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_team: dict[str, Durations] = field(default_factory=dict)
    by_service: dict[str, Durations] = field(default_factory=dict)
    by_severity_durations: dict[str, Durations] = field(default_factory=dict)


def _durations(rows: list[tuple]) -> Durations:
    """rows: (created_at, acknowledged_at, resolved_at, status)."""
    acks = [(a - c).total_seconds() for c, a, _, _ in rows if a]
    fixes = [(r - c).total_seconds() for c, _, r, s in rows if r and s == "resolved"]
    return Durations(len(rows), mean(acks) if acks else None, mean(fixes) if fixes else None)


def _grouped(rows: list[tuple], key_index: int) -> dict[str, Durations]:
    groups: dict[str, list[tuple]] = {}
    for row in rows:
        groups.setdefault(row[key_index] or "none", []).append(row[:4])
    return {key: _durations(group) for key, group in sorted(groups.items())}


def _query(since: datetime, team: str | None, reader: Readable | None, until: datetime | None = None):
    query = (
        select(Incident.created_at, Incident.acknowledged_at, Incident.resolved_at, Incident.status,
               Incident.severity, Incident.service, Team.name)
        .outerjoin(Team, Team.id == Incident.team_id)
        .where(Incident.created_at >= since)
    )
    if until is not None:
        query = query.where(Incident.created_at < until)
    if team:
        query = query.where(func.lower(Team.name) == team.lower())
    if reader is not None:
        query = query.where(of_teams(reader.teams))
    return query


async def _rows(db: Database, query, team: str | None, reader: Readable | None) -> list[tuple]:
    async with db.sessions() as session:
        if reader is not None:
            await reader.check_team(session, team)
        return [tuple(r) for r in (await session.execute(query)).all()]


async def compute(db: Database, now: datetime, window: timedelta, team: str | None = None,
                  reader: Readable | None = None) -> Stats:
    """Stats over incidents created in the last ``window`` (optionally for one team; with ``reader``,
    only over the teams they may read)."""
    since = now - window
    rows = await _rows(db, _query(since, team, reader), team, reader)
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for row in rows:
        by_status[row[3]] = by_status.get(row[3], 0) + 1
        by_severity[row[4]] = by_severity.get(row[4], 0) + 1
    return Stats(
        since=since,
        team=team,
        overall=_durations([r[:4] for r in rows]),
        by_status=by_status,
        by_severity=by_severity,
        by_team=_grouped(rows, 6),
        by_service=_grouped(rows, 5),
        by_severity_durations=_grouped(rows, 4),
    )


@dataclass(frozen=True)
class Trend:
    """MTTA and MTTR per team per period (a UTC day, or a week for long windows), and counts by severity,
    over incidents created from ``since`` to ``until``; every team has a ``Durations`` for each period."""

    since: datetime
    until: datetime
    step: timedelta
    team: str | None
    overall: Durations
    by_team: dict[str, tuple[Durations, ...]]
    by_severity: dict[str, int]
    team_totals: dict[str, Durations]

    @property
    def starts(self) -> tuple[datetime, ...]:
        """When each period begins."""
        count = int((self.until - self.since) / self.step)
        return tuple(self.since + i * self.step for i in range(count))


def periods(now: datetime, days: int) -> tuple[datetime, datetime, timedelta]:
    """Whole UTC days ending with today, ``days`` of them, in days (up to 31) or else in weeks:
    (since, until, step)."""
    step = timedelta(days=1 if days <= 31 else 7)
    until = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    count = -(-timedelta(days=days) // step)
    return until - count * step, until, step


async def trend(db: Database, now: datetime, days: int, team: str | None = None,
                reader: Readable | None = None) -> Trend:
    """MTTA/MTTR over time per team and counts by severity for the last ``days`` (see ``periods``);
    with ``reader``, only over the teams they may read."""
    since, until, step = periods(now, days)
    rows = await _rows(db, _query(since, team, reader, until), team, reader)
    count = int((until - since) / step)
    per_team: dict[str, list[list[tuple]]] = {}
    for row in rows:
        slots = per_team.setdefault(row[6] or "none", [[] for _ in range(count)])
        slots[int((row[0] - since) / step)].append(row[:4])
    by_severity = {s.value: 0 for s in Severity}
    for row in rows:
        by_severity[row[4]] = by_severity.get(row[4], 0) + 1
    return Trend(since, until, step, team, _durations([r[:4] for r in rows]),
                 {name: tuple(_durations(slot) for slot in slots) for name, slots in sorted(per_team.items())},
                 by_severity, _grouped(rows, 6))
