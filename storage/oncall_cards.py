"""Who is on call for an incident's team, as its card says it ("On call: Ana (payments-primary, until Mon
09:00)"): every schedule of the team, overrides applied, at the instant the card is built.

The card is rebuilt on every change to the incident, so this stays cheap: one primary-key read when no team
asked about has a schedule, two more queries (overrides, names) when one has; the engine's work is a week's
timeline per schedule, a longer one only when the shift outlasts that week.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall, overrides
from storage.models import ConfigState, Person
from storage.views import OnCall

#: How far ahead the end of the current shift is looked for: a week and a day first, then as far as
#: ``oncall.next_handoff`` looks by default.
UNTIL_HORIZONS = (timedelta(days=8), timedelta(days=35))


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
    state = await session.get(ConfigState, 1) if teams else None
    found = [oncall.from_document(d) for d in (state.document.get("schedules", []) if state else [])
             if d.get("team") in teams]
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
