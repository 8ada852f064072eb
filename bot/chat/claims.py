"""Claims across processes (``inbound_receipt``): who posts a card, which delivery was handled already.

``source`` is the platform's name; the primary key (source, key) decides between processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import InboundReceipt

KEY_LENGTH = 200


def _row(source: str, key: str) -> tuple:
    return InboundReceipt.source == source, InboundReceipt.key == key[:KEY_LENGTH]


async def claim(source: str, db: Database, key: str, now: datetime) -> bool:
    """True the first time ``key`` is seen, by any process."""
    try:
        async with db.transaction() as session:
            session.add(InboundReceipt(source=source, key=key[:KEY_LENGTH], received_at=now))
        return True
    except IntegrityError:
        return False


async def release(source: str, db: Database, key: str) -> None:
    """Forget ``key``, so that it can be claimed again (a refused card or action is tried again later)."""
    async with db.transaction() as session:
        await session.execute(delete(InboundReceipt).where(*_row(source, key)))


async def claimed_at(source: str, db: Database, key: str) -> datetime | None:
    """When ``key`` was first seen, if it is still remembered."""
    async with db.sessions() as session:
        return await session.scalar(select(InboundReceipt.received_at).where(*_row(source, key)))


async def take_over(source: str, db: Database, key: str, now: datetime, stale_before: datetime) -> bool:
    """Claim ``key`` anew if it was last claimed before ``stale_before`` (its holder stopped); True if so.
    The condition is in the UPDATE, so of two processes taking over at once only one succeeds."""
    async with db.transaction() as session:
        result = await session.execute(update(InboundReceipt).where(
            *_row(source, key), InboundReceipt.received_at < stale_before).values(received_at=now))
        return result.rowcount == 1


async def renew(source: str, db: Database, key: str, now: datetime) -> None:
    """The holder of ``key`` still works on it: nobody may take it over yet."""
    async with db.transaction() as session:
        await session.execute(update(InboundReceipt).where(*_row(source, key)).values(received_at=now))
