"""Every Telegram update is kept in ``inbound_delivery`` before it is processed: the webhook answers as soon
as the row is committed, the handlers run after, a failure is retried with backoff (or is dead, waiting for
``tocsin inbound replay``), and a row whose process died is picked up by any process after its lease."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import Application

from bot.container import Container
from storage import inbound
from storage.background import Background
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

PLATFORM = "telegram"
INTERVAL = 5.0  # seconds between looks for due retries and for rows a dead process left behind
#: Failures that may pass: the database or the Bot API out of reach. Others (a bug, a refused request) die.
RETRYABLE = (DatabaseUnavailable, OperationalError, DBAPIError, NetworkError, RetryAfter, TimeoutError,
             ConnectionError)


def retryable(error: BaseException | None) -> bool:
    """Whether trying again later may succeed (PTB's BadRequest is a NetworkError, but never passes)."""
    return isinstance(error, RETRYABLE) and not isinstance(error, BadRequest)


class TelegramInbound(Background):
    """Records, processes and retries updates. ``own``/``done``/``failed`` are called around the handlers."""

    def __init__(self, container: Container, application: Application, interval: float = INTERVAL) -> None:
        self.container, self.application, self.interval = container, application, interval
        self.retry_first = inbound.BACKOFF_FIRST
        self.max_attempts = inbound.MAX_ATTEMPTS
        self._owned: dict[int, int] = {}  # update_id -> id of its row, while this process processes it
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, payload: dict[str, Any], update: Update) -> bool:
        """Keep a webhook delivery and process it in the background; False if it was kept before."""
        row_id = await inbound.record(self.container.db, PLATFORM, str(update.update_id), payload,
                                      self.container.clock.now())
        if row_id is None:
            return False
        self._owned[update.update_id] = row_id
        task = asyncio.get_running_loop().create_task(self.application.process_update(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def own(self, update: Update) -> bool:
        """Before the handlers: True if this process is to process ``update`` (a polled one is kept first)."""
        if update.update_id in self._owned:
            return True
        row_id = await inbound.record(self.container.db, PLATFORM, str(update.update_id), update.to_dict(),
                                      self.container.clock.now())
        if row_id is not None:
            self._owned[update.update_id] = row_id
        return row_id is not None

    async def done(self, update: Update) -> None:
        """After the handlers: the update is processed."""
        row_id = self._owned.pop(update.update_id, None)
        if row_id is not None:
            await inbound.finish(self.container.db, row_id, self.container.clock.now())

    async def failed(self, update: Update, error: BaseException | None) -> tuple[str, int] | None:
        """A handler failed: count it, retry it later or give up. (new status, failed attempts), if kept."""
        self.container.metrics.inbound_failures.labels(PLATFORM).inc()
        row_id = self._owned.pop(update.update_id, None)
        if row_id is None:
            return None
        return await inbound.fail(self.container.db, row_id, inbound.describe(error or Exception("unknown")),
                                  self.container.clock.now(), retry=retryable(error),
                                  max_attempts=self.max_attempts, first=self.retry_first)

    async def run_due(self) -> int:
        """Process the rows that are due: retries, replays, and rows whose process died. How many."""
        rows = await inbound.claim_due(self.container.db, PLATFORM, self.container.clock.now())
        for row in rows:
            update = Update.de_json(row.payload, self.application.bot)
            self._owned[update.update_id] = row.id
            await self.application.process_update(update)
        return len(rows)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if not self.application.running:
                continue
            try:
                await self.run_due()
            except Exception as exc:  # the database is away: the rows wait for the next look
                log.warning("could not process kept telegram updates (%s); trying again in %ss",
                            type(exc).__name__, int(self.interval))

    async def drain(self) -> None:
        """Wait for the updates the webhook accepted to be processed (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
