"""Inbound deliveries kept until processed (``inbound_delivery``): recorded, claimed under a lease, done,
failed and retried with backoff, or dead after too many attempts and waiting for an operator's replay.

One table for every chat platform. The unique (platform, key) makes a redelivery a no-op; the lease
(``next_attempt_at`` moved past the time processing needs) lets any process pick up a row whose claimer
died, and keeps two processes from working on one row at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from storage.db import Database
from storage.models import INBOUND_STATUSES, InboundDelivery

PENDING, DONE, FAILED, DEAD = INBOUND_STATUSES
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
BACKOFF_FIRST, BACKOFF_MAX = timedelta(seconds=30), timedelta(hours=1)
MAX_ERROR = 500
#: Platforms whose kept deliveries are for an operator to read, never replayed: a webhook delivery its
#: integration's mapping could not read (bot/webhooks/receive.py); the sender's next one is read anew.
WEBHOOK = "webhook"
INSPECT_ONLY = (WEBHOOK,)


@dataclass(frozen=True)
class Inbound:
    """One kept delivery, as the CLI and the workers see it."""

    id: int
    platform: str
    key: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    next_attempt_at: datetime


def _view(row: InboundDelivery) -> Inbound:
    return Inbound(row.id, row.platform, row.key, row.payload, row.status, row.attempts, row.last_error,
                   row.received_at, row.next_attempt_at)


def describe(exc: BaseException) -> str:
    """The error for ``last_error``: a database error by its kinds only (its text may name the server)."""
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        return type(exc).__name__ + (f" ({type(orig).__name__})" if orig is not None else "")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR] if text else type(exc).__name__


def backoff(attempts: int, first: timedelta = BACKOFF_FIRST) -> timedelta:
    """The wait after the ``attempts``-th failure: ``first``, doubling, at most an hour."""
    return min(first * 2 ** (attempts - 1), BACKOFF_MAX)


async def record(db: Database, platform: str, key: str, payload: dict[str, Any], now: datetime,
                 lease: timedelta = LEASE) -> int | None:
    """Keep a delivery, claimed by the caller for ``lease``; its id, or None if it was recorded before."""
    row = InboundDelivery(platform=platform, key=key[:200], payload=payload, status=PENDING, attempts=0,
                          received_at=now, next_attempt_at=now + lease, updated_at=now)
    try:
        async with db.transaction() as session:
            session.add(row)
    except IntegrityError:
        return None
    return row.id


async def record_failed(db: Database, platform: str, key: str, payload: dict[str, Any], error: str,
                        now: datetime) -> int:
    """Keep a delivery that already failed once and is not retried on its own (it waits for a replay)."""
    async with db.transaction() as session:
        row = await session.scalar(select(InboundDelivery).where(
            InboundDelivery.platform == platform, InboundDelivery.key == key[:200]))
        if row is None:
            row = InboundDelivery(platform=platform, key=key[:200], payload=payload, attempts=0, received_at=now)
            session.add(row)
        row.status, row.attempts, row.last_error = DEAD, (row.attempts or 0) + 1, error[:MAX_ERROR]
        row.next_attempt_at = row.updated_at = now
    return row.id


async def claim_due(db: Database, platform: str, now: datetime, limit: int = 20,
                    lease: timedelta = LEASE) -> list[Inbound]:
    """Pending or failed rows that are due, each now claimed for ``lease`` by this caller alone."""
    due = (select(InboundDelivery).where(InboundDelivery.platform == platform,
                                         InboundDelivery.status.in_([PENDING, FAILED]),
                                         InboundDelivery.next_attempt_at <= now)
           .order_by(InboundDelivery.next_attempt_at, InboundDelivery.id).limit(limit))
    async with db.sessions() as session:
        rows = (await session.scalars(due)).all()
    claimed = []
    for row in rows:
        async with db.transaction() as session:  # the same lease moved twice: the second claimer gets 0 rows
            result = await session.execute(update(InboundDelivery).where(
                InboundDelivery.id == row.id, InboundDelivery.status == row.status,
                InboundDelivery.next_attempt_at == row.next_attempt_at).values(next_attempt_at=now + lease))
        if result.rowcount == 1:
            claimed.append(_view(row))
    return claimed


async def finish(db: Database, row_id: int, now: datetime) -> None:
    """The delivery was processed."""
    async with db.transaction() as session:
        await session.execute(update(InboundDelivery).where(InboundDelivery.id == row_id)
                              .values(status=DONE, updated_at=now))


async def fail(db: Database, row_id: int, error: str, now: datetime, *, retry: bool,
               max_attempts: int = MAX_ATTEMPTS, first: timedelta = BACKOFF_FIRST) -> tuple[str, int]:
    """Count a failed attempt: retried later with backoff, or dead. Returns (new status, failed attempts)."""
    async with db.transaction() as session:
        row = await session.get(InboundDelivery, row_id, with_for_update=True)
        row.attempts += 1
        row.status = FAILED if retry and row.attempts < max_attempts else DEAD
        row.last_error, row.updated_at = error[:MAX_ERROR], now
        row.next_attempt_at = now + backoff(row.attempts, first) if row.status == FAILED else now
        return row.status, row.attempts


async def listing(db: Database, statuses: Sequence[str] = (FAILED, DEAD), limit: int = 100) -> list[Inbound]:
    """Kept deliveries in ``statuses``, oldest first."""
    async with db.sessions() as session:
        rows = await session.scalars(select(InboundDelivery).where(InboundDelivery.status.in_(statuses))
                                     .order_by(InboundDelivery.id).limit(limit))
        return [_view(r) for r in rows]


async def statuses(db: Database, ids: Sequence[int]) -> dict[int, str]:
    """The status of each of ``ids`` that exists."""
    async with db.sessions() as session:
        rows = await session.execute(select(InboundDelivery.id, InboundDelivery.status)
                                     .where(InboundDelivery.id.in_(list(ids))))
        return {row_id: status for row_id, status in rows}


async def replay(db: Database, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
    """Put failed or dead deliveries (``ids``, or all of them) back to pending, due now. The ids replayed
    (never those of an ``INSPECT_ONLY`` platform: nothing would process them)."""
    where = [InboundDelivery.status.in_([FAILED, DEAD]), InboundDelivery.platform.not_in(INSPECT_ONLY)]
    if ids is not None:
        where.append(InboundDelivery.id.in_(list(ids)))
    async with db.transaction() as session:
        chosen = list((await session.scalars(select(InboundDelivery.id).where(*where))).all())
        if chosen:
            await session.execute(update(InboundDelivery).where(InboundDelivery.id.in_(chosen))
                                  # due at once for every process, whatever its clock says
                                  .values(status=PENDING, attempts=0, next_attempt_at=InboundDelivery.received_at,
                                          updated_at=now))
    return chosen


async def counts(db: Database) -> dict[tuple[str, str], int]:
    """How many rows each (platform, status) holds."""
    async with db.sessions() as session:
        rows = await session.execute(select(InboundDelivery.platform, InboundDelivery.status, func.count())
                                     .group_by(InboundDelivery.platform, InboundDelivery.status))
        return {(platform, status): n for platform, status, n in rows}


async def prune_done(db: Database, before: datetime) -> int:
    """Forget deliveries processed before ``before`` (failed and dead ones stay until replayed)."""
    async with db.transaction() as session:
        result = await session.execute(delete(InboundDelivery).where(
            InboundDelivery.status == DONE, InboundDelivery.updated_at < before))
    return result.rowcount
