"""Inbound deliveries handled once, across processes, for every platform: a retried event, a double click
or a redelivered press must change nothing twice. Kept in ``inbound_receipt`` under the platform's name
(beside the card claims of ``bot.chat.claims``) and pruned after the retention by ``bot.housekeeping``."""

from __future__ import annotations

from datetime import datetime

from bot.chat import claims
from storage.clock import Clock
from storage.db import Database


class Receipts:
    """One platform's receipts; a key is what identifies one delivery (an event id, a press on a rendering)."""

    def __init__(self, platform: str, db: Database, clock: Clock) -> None:
        self.platform, self.db, self.clock = platform, db, clock

    async def first(self, key: str) -> bool:
        """Record ``key``; True the first time it is seen, by any process."""
        return await claims.claim(self.platform, self.db, key, self.clock.now())

    async def forget(self, key: str) -> None:
        """Forget ``key``, so that the delivery may be handled again (it was refused: the user may retry)."""
        await claims.release(self.platform, self.db, key)

    async def seen_at(self, key: str) -> datetime | None:
        """When ``key`` was first seen, while it is remembered."""
        return await claims.claimed_at(self.platform, self.db, key)
