"""Who is on call for an incident's team, as its card says it ("On call: Ana (payments-primary, until Mon
09:00)"): every schedule of the team, overrides applied, at the instant the card is built.

The card is rebuilt on every change to the incident, so this stays cheap: the applied schedules are read at
most once per ``SCHEDULES_FOR`` per database (as every process takes up an applied config within the config
reloader's poll), so a team without a schedule costs no statement; one with a schedule costs two queries
(overrides, names); the engine's work is a week's timeline per schedule, a longer one only when the shift
outlasts that week.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall, overrides
from storage.models import ConfigState, Person
from storage.views import OnCall

#: How far ahead the end of the current shift is looked for: a week and a day first, then as far as
#: ``oncall.next_handoff`` looks by default.
UNTIL_HORIZONS = (timedelta(days=8), timedelta(days=35))
#: How long the applied schedules read at an instant are used again (bot.reload.POLL: how soon every process
#: takes up a ``tocsin config apply``). Measured on the card's own instants, so a fake clock drives it.
SCHEDULES_FOR = timedelta(seconds=2)
_applied: WeakKeyDictionary[Any, tuple[datetime, list[oncall.Schedule]]] = WeakKeyDictionary()


async def _schedules(session: AsyncSession, at: datetime) -> list[oncall.Schedule]:
    """The applied schedules, read again once ``SCHEDULES_FOR`` has passed since the last read (per engine)."""
    engine = getattr(session.bind, "sync_engine", session.bind)
    cached = _applied.get(engine) if engine is not None else None
    if cached is not None and cached[0] <= at < cached[0] + SCHEDULES_FOR:
        return cached[1]
    state = await session.get(ConfigState, 1)
    found = [oncall.from_document(d) for d in (state.document.get("schedules", []) if state else [])]
    if engine is not None:
        _applied[engine] = (at, found)
    return found


def _until(schedule: oncall.Schedule, at: datetime, covering: list[oncall.Override]) -> datetime | None:
    """When the person on call at ``at`` hands over (None: not within the longest horizon)."""
    for horizon in UNTIL_HORIZONS:
        shift = oncall.next_handoff(schedule, at, covering, horizon)
        if shift is not None:
            return shift.start
    return None


async def of_teams(session: AsyncSession, teams: set[str], at: datetime) -> dict[str, tuple[OnCall, ...]]:
    """Per team name, who each of its applied schedules has on call at ``at`` and until when, named as the
    people are (their email when no person has it). Teams without a schedule are left out."""
    found = [s for s in await _schedules(session, at) if s.team in teams] if teams else []
    if not found:
        return {}
    covering = await overrides.active(session, at, [s.name for s in found])
    now = {s.name: oncall.on_call(s, at, covering.get(s.name, []))[0] for s in found}
    emails = sorted({who.lower() for who in now.values() if who})
    names = dict((await session.execute(select(func.lower(Person.email), Person.name)
                                        .where(func.lower(Person.email).in_(emails)))).all()) if emails else {}
    result: dict[str, list[OnCall]] = {}
    for s in found:
        who = now[s.name]
        until = _until(s, at, covering.get(s.name, [])) if who else None
        result.setdefault(str(s.team), []).append(
            OnCall(s.name, names.get(who.lower(), who) if who else None, until, s.timezone))
    return {team: tuple(entries) for team, entries in result.items()}
