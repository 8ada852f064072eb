"""Who one step pages and how: targets resolved by role from the incident's team, with preferences.

A person is paged on every channel of the step they can be reached on; when none works, on the first
channel of their own accepted list that does, and the notification records why. On a chat channel a
person's address is their reachable account on that platform, a team's its chat binding there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import prefs
from escalation.policy import OTHER_CHANNELS, Step, Target
from storage import oncall, overrides, schedules
from storage.directory import people_with_role
from storage.models import Incident, Person, Team
from storage.roles import Role


@dataclass(frozen=True)
class Planned:
    """One notification to write: a target on a channel at an address."""

    target: str
    channel: str
    address: str
    person_id: int | None = None
    topic: str | None = None
    note: str | None = None
    name: str = ""


def person_address(person: Person, channel: str) -> str | None:
    """Where ``person`` is reached on ``channel``, or None."""
    if channel in OTHER_CHANNELS:
        return person.email
    account = person.identity(channel)
    # Some platforms let a bot write only to people who opened a chat with it first.
    return account.external_id if account is not None and account.reachable_at is not None else None


def team_channel_address(team: Team | None, channel: str) -> tuple[str | None, str | None]:
    """The team's chat on ``channel`` and the thread in it, if it has one there."""
    binding = team.binding(channel) if team is not None else None
    return (binding.chat, binding.thread) if binding is not None else (None, None)


NO_ADDRESS = "no address for them"


def unreachable(person: Person, channel: str) -> str:
    """Why ``person`` has no address on ``channel``."""
    if channel not in OTHER_CHANNELS and person.identity(channel) is not None:
        return "Tocsin may not write to them there now (they have not started a chat with it, or are signed out)"
    return NO_ADDRESS


async def _on_call(session: AsyncSession, value: str, at: datetime) -> tuple[str | None, str]:
    """The email of whoever a schedule has on call at ``at`` (``name:next``: the next person after them)."""
    name, _, which = value.partition(":")
    found = [s for s in await schedules.applied(session) if s.name == name]
    if not found:
        return None, "no such schedule in the applied config"
    schedule = found[0]
    covering = (await overrides.active(session, at, [name])).get(name, [])
    if which == "next":
        shift = oncall.next_handoff(schedule, at, covering)
        return (shift.who, "") if shift and shift.who else (None, "nobody is on call after the current shift")
    who, _ = oncall.on_call(schedule, at, covering)
    return who, "nobody is on call now"


async def _people(session: AsyncSession, incident: Incident, target: Target,
                  at: datetime) -> tuple[list[Person], str | None]:
    if target.kind == "role":
        if incident.team_id is None:
            return [], f"{target}: the incident has no team"
        found = await people_with_role(session, incident.team_id, Role(target.value))
        return found, None if found else f"{target}: nobody in the team has that role"
    if target.kind == "oncall":
        email, why = await _on_call(session, str(target.value), at)
        if email is None:
            return [], f"{target}: {why}"
        target = Target("person", email)
    if target.kind == "person":
        person = await session.scalar(select(Person).where(func.lower(Person.email) == str(target.value).lower()))
        if person is None or not person.active:
            return [], f"{target}: no active person with that email"
        return [person], None
    if incident.assignee is None:
        return [], "assignee: the incident has no assignee"
    return [incident.assignee], None


def _channels_for(person: Person, wanted: tuple[str, ...], accepted: tuple[str, ...],
                  available: Collection[str]) -> tuple[list[str], str | None]:
    def why_not(channel: str) -> str | None:
        if channel not in accepted:
            return "not accepted in their preferences"
        if channel not in available:
            return "not configured in this Tocsin"
        if person_address(person, channel) is None:
            return unreachable(person, channel)
        return None

    reasons = {c: why_not(c) for c in wanted}
    usable = [c for c in wanted if reasons[c] is None]
    if usable:
        # Reached elsewhere: a channel they have no account on is not news (most people have one or two).
        skipped = [f"{c} {r}" for c, r in reasons.items() if r and r != NO_ADDRESS]
        return usable, ("; ".join(skipped) or None)
    fallback = next((c for c in accepted if c not in wanted and why_not(c) is None), None)
    tried = "; ".join(f"{c} {r}" for c, r in reasons.items())
    if fallback is None:
        return [], f"{person.name}: unreachable ({tried})"
    return [fallback], f"fell back to {fallback}: {tried}"


def first_reachable(person: Person, accepted: tuple[str, ...], available: Collection[str]) -> Planned | None:
    """One direct message to ``person``: on the first channel of their accepted list that works here."""
    channels, note = _channels_for(person, accepted[:1], accepted, available)
    if not channels:
        return None
    channel = channels[0]
    return Planned(person.email or "", channel, person_address(person, channel) or "", person.id, note=note,
                   name=person.name)


async def plan_step(session: AsyncSession, incident: Incident, step: Step, available: Collection[str],
                    known: Sequence[str], at: datetime | None = None) -> tuple[list[Planned], list[str]]:
    """The notifications a step writes, and notes on whom it could not reach and why (``available``: the
    channels there is a sender for; ``known``: every channel, see ``prefs``; ``at``: when the step runs, for
    ``oncall:`` targets, now by default)."""
    at = at or datetime.now(UTC)
    planned: dict[tuple[str, str], Planned] = {}
    notes: list[str] = []
    for target in step.targets:
        if target.kind == "team_channel":
            for channel in step.channels:
                address, topic = team_channel_address(incident.team, channel)
                if address and channel in available:
                    planned.setdefault(("team_channel", channel), Planned("team_channel", channel, address, None, topic,
                                                                          name=incident.team.name))
            if not any(k[0] == "team_channel" for k in planned):
                # A team with chats whose platforms are off here (no token) is not a team without chats.
                off = [c for c in step.channels if c not in available and team_channel_address(incident.team, c)[0]]
                notes.append(f"team_channel: its chat on {', '.join(off)} was not paged: not configured in this "
                             "Tocsin" if off else "team_channel: the team has no chat on the step's channels")
            continue
        people, why = await _people(session, incident, target, at)
        if why:
            notes.append(why)
        accepted = await prefs.accepted_by(session, [p.id for p in people], known) if people else {}
        for person in people:
            channels, note = _channels_for(person, step.channels, accepted[person.id], available)
            if not channels:
                notes.append(note or f"{person.name}: unreachable")
            elif note:
                notes.append(f"{person.name}: {note}")
            for channel in channels:
                planned.setdefault((f"person:{person.id}", channel), Planned(
                    f"person:{person.id}", channel, person_address(person, channel) or "", person.id, None, note,
                    person.name))
    return list(planned.values()), notes
