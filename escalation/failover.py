"""Failover: a page that its channel has failed to deliver for a while (or for good) also goes out on the
target's other channels, and the team is told on every other surface that the channel is failing.

A person is paged on the channels they accept and can be reached on, other than the failing one and those
the step already paged them on. A team channel fails over to the team's chats on the other platforms; a
team with no other chat has its on-call members paged instead, so that a team on one platform only is
still reached.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import prefs, texts
from escalation.plan import Planned, person_address, team_channel_address
from storage import pgdriver
from storage.directory import people_with_role
from storage.models import Incident, Notification, Person
from storage.roles import Role

ON_CALL = (Role.RESPONDER, Role.INCIDENT_COMMANDER, Role.TEAM_LEAD, Role.MANAGER)  # paged for a team channel


@dataclass(frozen=True)
class FailedOver:
    """What a failover did: for the log line and the metrics."""

    number: int
    channels: tuple[str, ...]  # where the target is now paged as well
    told: tuple[str, ...]  # where the team was told that the channel is failing


def reason_of(row: Notification) -> str:
    return f"failover:{row.reason}"


async def fail_over(session: AsyncSession, row: Notification, available: Collection[str], now: datetime,
                    refused: bool = False) -> FailedOver:
    """Page the row's target elsewhere and tell the team (``refused``: the channel said never);
    idempotent (the outbox's unique key). ``available``: the channels there is a sender for, in the order
    a person who never chose accepts them."""
    incident = await session.get(Incident, row.incident_id)  # its team comes with it (joined)
    usable = [c for c in available if c != row.channel]
    planned = await _alternatives(session, incident, row, usable)
    since = now - row.created_at
    await _queue(session, row, reason_of(row), planned, f"{row.message}\n{texts.failed_over(row.channel, since, refused)}",
                 now, kind="page")
    paged = {(p.target, p.channel) for p in planned}
    notice = [p for p in _team_chats(incident, usable) if (p.target, p.channel) not in paged]
    await _queue(session, row, f"down:{row.channel}", notice, texts.channel_down(incident, row.channel, since, refused),
                 now, kind="notice")
    return FailedOver(incident.number, tuple(sorted({p.channel for p in planned})),
                      tuple(sorted({p.channel for p in notice} | {p.channel for p in planned
                                                                    if p.target == "team_channel"})))


def _team_chats(incident: Incident, channels: Iterable[str]) -> list[Planned]:
    found = []
    for channel in channels:
        address, topic = team_channel_address(incident.team, channel)
        if address:
            found.append(Planned("team_channel", channel, address, topic=topic, name=incident.team.name))
    return found


async def _alternatives(session: AsyncSession, incident: Incident, row: Notification,
                        usable: list[str]) -> list[Planned]:
    already = set((await session.execute(
        select(Notification.target, Notification.channel)
        .where(Notification.incident_id == row.incident_id, Notification.reason == row.reason))).all())
    if row.target == "team_channel":
        chats = [p for p in _team_chats(incident, usable) if (p.target, p.channel) not in already]
        if chats or any(t == "team_channel" and c != row.channel for t, c in already):
            return chats
        people = await _on_call(session, incident)
    else:
        person = await session.get(Person, row.person_id) if row.person_id else None
        people = [person] if person is not None and person.active else []
    accepted = await prefs.accepted_by(session, [p.id for p in people], usable) if people else {}
    return [Planned(f"person:{p.id}", c, person_address(p, c) or "", p.id, name=p.name,
                    note=f"failed over from {row.channel}")
            for p in people for c in accepted[p.id]
            if c in usable and person_address(p, c) and (f"person:{p.id}", c) not in already]


async def _on_call(session: AsyncSession, incident: Incident) -> list[Person]:
    if incident.team_id is None:
        return []
    found: dict[int, Person] = {}
    for role in ON_CALL:
        for person in await people_with_role(session, incident.team_id, role):
            found.setdefault(person.id, person)
    return list(found.values())


async def _queue(session: AsyncSession, row: Notification, reason: str, planned: list[Planned], message: str,
                 now: datetime, *, kind: str) -> None:
    if not planned:
        return
    values = [dict(incident_id=row.incident_id, step_id=row.step_id, kind=kind, reason=reason, target=p.target,
                   person_id=p.person_id, channel=p.channel, address=p.address, topic=p.topic, message=message,
                   status="PENDING", attempts=0, next_attempt_at=now, note=p.note, created_at=now)
              for p in planned]
    dialect = postgresql if pgdriver.is_postgres(session) else sqlite
    # Two pages of one incident failing at once both tell the team: the second notice is already there.
    await session.execute(dialect.insert(Notification).values(values).on_conflict_do_nothing())
