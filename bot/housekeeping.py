"""Housekeeping: forget inbound receipts (Slack retries, card claims) and processed chat deliveries
(``inbound_delivery``) older than the retention.

Every ``tocsin serve`` process prunes, each in short transactions of at most ``BATCH`` rows; on
PostgreSQL, rows another process is deleting at the same moment are skipped, not waited for.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_

from bot.surface import Surface
from storage import inbound
from storage.background import Background
from storage.clock import Clock
from storage.db import Database
from storage.models import InboundReceipt

log = logging.getLogger(__name__)

BATCH = 1000
INTERVAL = 600.0  # seconds between prunes; the first runs at start-up


async def prune_receipts(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Delete receipts received before ``before``, ``batch`` rows per transaction; how many went."""
    total = 0
    while True:
        oldest = (select(InboundReceipt.source, InboundReceipt.key)
                  .where(InboundReceipt.received_at < before)
                  .limit(batch).with_for_update(skip_locked=True))
        async with db.transaction() as session:
            result = await session.execute(
                delete(InboundReceipt).where(tuple_(InboundReceipt.source, InboundReceipt.key).in_(oldest)))
        total += result.rowcount
        if result.rowcount < batch:
            return total


class ReceiptPruner(Background):
    """A process component: prunes at start and every ``interval`` seconds; a failure waits for the next."""

    def __init__(self, db: Database, clock: Clock, retention: timedelta, interval: float = INTERVAL) -> None:
        self.db, self.clock, self.retention, self.interval = db, clock, retention, interval

    async def prune(self) -> int:
        """One prune; a failure is logged (its kind only: messages may carry connection details) and ignored."""
        try:
            before = self.clock.now() - self.retention
            deleted = await prune_receipts(self.db, before) + await inbound.prune_done(self.db, before)
        except Exception as exc:
            log.warning("pruning inbound receipts failed (%s); trying again in %ss", type(exc).__name__,
                        int(self.interval))
            return 0
        if deleted:
            log.info("pruned %d inbound receipts older than %s", deleted, self.retention)
        return deleted

    async def _run(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(self.interval)


def surface(pruner: ReceiptPruner) -> Surface:
    return Surface("housekeeping", f"on (inbound receipts kept {pruner.retention.total_seconds() / 3600:g}h)",
                   components=[pruner])
