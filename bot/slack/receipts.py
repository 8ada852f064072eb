"""Inbound deliveries already handled: an Events API retry or a double click must change nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import InboundReceipt

SOURCE = "slack"


async def claim(db: Database, key: str, now: datetime) -> bool:
    """True the first time ``key`` is seen (across processes: the primary key decides)."""
    try:
        async with db.transaction() as session:
            session.add(InboundReceipt(source=SOURCE, key=key[:200], received_at=now))
        return True
    except IntegrityError:
        return False


async def release(db: Database, key: str) -> None:
    """Forget ``key`` (the action was refused, so pressing again later must work)."""
    async with db.transaction() as session:
        await session.execute(delete(InboundReceipt).where(InboundReceipt.source == SOURCE,
                                                           InboundReceipt.key == key[:200]))


async def claimed_at(db: Database, key: str) -> datetime | None:
    """When ``key`` was first seen, if it is still remembered."""
    async with db.sessions() as session:
        return await session.scalar(select(InboundReceipt.received_at).where(
            InboundReceipt.source == SOURCE, InboundReceipt.key == key[:200]))
