"""Inbound deliveries already handled: an Events API retry or a double click must change nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
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


async def take_over(db: Database, key: str, now: datetime, stale_before: datetime) -> bool:
    """Claim ``key`` anew if it was last claimed before ``stale_before`` (its holder stopped); True if so.
    The condition is in the UPDATE, so of two processes taking over at once only one succeeds."""
    async with db.transaction() as session:
        result = await session.execute(update(InboundReceipt).where(
            InboundReceipt.source == SOURCE, InboundReceipt.key == key[:200],
            InboundReceipt.received_at < stale_before).values(received_at=now))
        return result.rowcount == 1


async def renew(db: Database, key: str, now: datetime) -> None:
    """The holder of ``key`` still works on it: nobody may take it over yet."""
    async with db.transaction() as session:
        await session.execute(update(InboundReceipt).where(
            InboundReceipt.source == SOURCE, InboundReceipt.key == key[:200]).values(received_at=now))
