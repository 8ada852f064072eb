"""The flap gate (an integration's ``flap: {count: K, within: W}``; docs/noise.md).

A group whose alerts resolve and fire again more than K times within W would open a new incident each
time. Instead: when the alerts of a group's incident all clear and the group has opened more than K
incidents within W (this one included), the incident is not resolved. It stays open, its timeline says
it is flapping, and the next firings join it. It resolves at the first all-clear once the group has
opened no more than K incidents in the last W, or by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident

EVENT = "flapping"


async def flapping(session: AsyncSession, now: datetime, groups: Iterable[tuple[str, int, float]]) -> dict[str, int]:
    """Of the groups ``(dedup_key, count, within seconds)`` whose incident is about to resolve, those that
    flap: each with how many incidents it opened within its window."""
    found: dict[str, int] = {}
    for dedup_key, count, within in groups:
        opened = await session.scalar(select(func.count()).select_from(Incident).where(
            Incident.dedup_key == dedup_key, Incident.created_at >= now - timedelta(seconds=within)))
        if (opened or 0) > count:
            found[dedup_key] = int(opened or 0)
    return found
