"""The applied on-call schedules (in the applied config's document) and what each has now and next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall
from storage.directory import Readable, team_by_name
from storage.models import ConfigState, Team


async def applied(session: AsyncSession) -> list[oncall.Schedule]:
    """The schedules of the last applied config file, in its order (none before the first apply)."""
    state = await session.get(ConfigState, 1)
    return [oncall.from_document(d) for d in (state.document.get("schedules", []) if state else [])]


async def readable(session: AsyncSession, reader: Readable, team: str | None = None) -> list[oncall.Schedule]:
    """The schedules ``reader`` may see (those of teams whose incidents they read, and those without a team);
    with ``team``, that team's, refused unless they may read it."""
    found = await applied(session)
    if team:
        await reader.check_team(session, team)
        await team_by_name(session, team)  # an unknown team is named as such
        return [s for s in found if s.team == team]
    if reader.teams is None:
        return found
    ids = {name: id_ for name, id_ in (await session.execute(select(Team.name, Team.id))).all()}
    return [s for s in found if s.team is None or ids.get(s.team) in reader.teams]


@dataclass(frozen=True)
class Summary:
    schedule: oncall.Schedule
    now: oncall.Shift
    next: oncall.Shift | None  # the next shift with another person
    week: tuple[oncall.Shift, ...]  # the next 7 days


def summary(schedule: oncall.Schedule, at: datetime, overrides: list[oncall.Override] | None = None,
            days: int = 7) -> Summary:
    """Who is on call at ``at``, the next handoff and the next ``days`` days, overrides applied."""
    overrides = overrides or []
    week = oncall.timeline(schedule, at, at + timedelta(days=days), overrides)
    return Summary(schedule, week[0], oncall.next_handoff(schedule, at, overrides), tuple(week))


def document(s: Summary) -> dict:
    """The JSON form (``GET /api/oncall``)."""
    def shift(x: oncall.Shift | None) -> dict | None:
        return None if x is None else {"who": x.who, "start": x.start.isoformat(), "end": x.end.isoformat(),
                                       "layer": x.layer}
    return {"schedule": s.schedule.name, "team": s.schedule.team, "timezone": s.schedule.timezone,
            "now": shift(s.now), "next": shift(s.next), "shifts": [shift(x) for x in s.week]}
