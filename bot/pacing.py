"""Coalescing storms of card edits (rate limits: ``escalation.pacing``, each platform declaring its own)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Coalescer:
    """Runs at most one job per key at a time; jobs submitted meanwhile collapse into one more run.

    A storm of changes to one incident card becomes: the edit in flight, then one edit with the latest
    state. Nothing is dropped: the last submission always runs.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Callable[[], Awaitable[None]]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self.runs = 0

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> None:
        self._pending[key] = job
        if key not in self._running:
            self._running[key] = asyncio.get_running_loop().create_task(self._drain(key))

    async def _drain(self, key: str) -> None:
        try:
            while key in self._pending:
                job = self._pending.pop(key)
                self.runs += 1
                try:
                    await job()
                except Exception:
                    log.exception("coalesced job for %s failed", key)
        finally:
            self._running.pop(key, None)

    async def drain(self) -> None:
        """Wait for every job under way and queued (shutdown, tests)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)
