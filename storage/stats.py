"""MTTA and MTTR: how quickly incidents are acknowledged and resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean

from sqlalchemy import func, select

from storage.db import Database
from storage.directory import Readable
from storage.models import Incident, Team
from storage.queries import of_teams


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


async def compute(db: Database, now: datetime, window: timedelta, team: str | None = None,
                  reader: Readable | None = None) -> Stats:
    """Stats over incidents created in the last ``window`` (optionally for one team; with ``reader``,
    only over the teams they may read)."""
    since = now - window
    query = (
        select(Incident.created_at, Incident.acknowledged_at, Incident.resolved_at, Incident.status,
               Incident.severity, Incident.service, Team.name)
        .outerjoin(Team, Team.id == Incident.team_id)
        .where(Incident.created_at >= since)
    )
    if team:
        query = query.where(func.lower(Team.name) == team.lower())
    if reader is not None:
        query = query.where(of_teams(reader.teams))
    async with db.sessions() as session:
        if reader is not None:
            await reader.check_team(session, team)
        rows = [tuple(r) for r in (await session.execute(query)).all()]
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
