"""Per-person notification preferences: which channels a person accepts pages on, in their order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.policy import CHANNELS
from storage.errors import InvalidInput
from storage.models import NotificationPreference

DEFAULT_ACCEPTED: tuple[str, ...] = CHANNELS


async def accepted(session: AsyncSession, person_id: int) -> tuple[str, ...]:
    """The channels ``person_id`` accepts, most preferred first (everything when never set)."""
    row = await session.get(NotificationPreference, person_id)
    if row is None:
        return DEFAULT_ACCEPTED
    return tuple(c for c in row.channels.get("accept", []) if c in CHANNELS)


async def accepted_by(session: AsyncSession, person_ids: list[int]) -> dict[int, tuple[str, ...]]:
    rows = await session.scalars(select(NotificationPreference).where(NotificationPreference.person_id.in_(person_ids)))
    found = {r.person_id: tuple(c for c in r.channels.get("accept", []) if c in CHANNELS) for r in rows}
    return {pid: found.get(pid, DEFAULT_ACCEPTED) for pid in person_ids}


async def set_channel(session: AsyncSession, person_id: int, channel: str, on: bool, now: datetime) -> tuple[str, ...]:
    """Accept (``on``) or refuse pages on ``channel``; refusing the last channel is not allowed."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    current = list(await accepted(session, person_id))
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
