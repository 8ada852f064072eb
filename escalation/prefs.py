"""Per-person notification preferences: which channels a person accepts pages on, in their order.

``known``: every channel there is (``policy.channels`` of the bot's chat platforms), in the order a person
who never chose accepts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import InvalidInput
from storage.models import NotificationPreference


async def accepted(session: AsyncSession, person_id: int, known: Sequence[str]) -> tuple[str, ...]:
    """The channels ``person_id`` accepts, most preferred first (everything when never set)."""
    row = await session.get(NotificationPreference, person_id)
    if row is None:
        return tuple(known)
    return tuple(c for c in row.channels.get("accept", []) if c in known)


async def accepted_by(session: AsyncSession, person_ids: list[int],
                      known: Sequence[str]) -> dict[int, tuple[str, ...]]:
    rows = await session.scalars(select(NotificationPreference).where(NotificationPreference.person_id.in_(person_ids)))
    found = {r.person_id: tuple(c for c in r.channels.get("accept", []) if c in known) for r in rows}
    return {pid: found.get(pid, tuple(known)) for pid in person_ids}


async def set_channel(session: AsyncSession, person_id: int, channel: str, on: bool, now: datetime,
                      known: Sequence[str]) -> tuple[str, ...]:
    """Accept (``on``) or refuse pages on ``channel``; refusing the last channel is not allowed."""
    if channel not in known:
        raise InvalidInput(f"unknown channel {channel!r}: use one of {', '.join(known)}")
    current = list(await accepted(session, person_id, known))
    if on and channel not in current:
        current.append(channel)
    elif not on and channel in current:
        current.remove(channel)
    if not current:
        raise InvalidInput("you must accept pages on at least one channel")
    row = await session.get(NotificationPreference, person_id)
    if row is None:
        session.add(NotificationPreference(person_id=person_id, channels={"accept": current}, updated_at=now))
    else:
        row.channels, row.updated_at = {"accept": current}, now
    return tuple(current)
