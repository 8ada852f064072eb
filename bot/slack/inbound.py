"""Replays of failed Slack deliveries: a row put back to pending by ``tocsin inbound replay`` is dispatched
to the Bolt app again, as Socket Mode would deliver it (no signature: it came from our database)."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.container import Container
from bot.slack.runtime import PLATFORM, replaying
from storage import inbound
from storage.background import Background

log = logging.getLogger(__name__)
INTERVAL = 5.0  # seconds between looks for replayed deliveries


class SlackReplays(Background):
    """A process component: runs the replayed deliveries; their lazy listener marks them done or dead."""

    def __init__(self, app: AsyncApp, container: Container, interval: float = INTERVAL) -> None:
        self.app, self.container, self.interval = app, container, interval

    async def run_due(self) -> int:
        """Dispatch every replayed delivery that is due; how many."""
        rows = await inbound.claim_due(self.container.db, PLATFORM, self.container.clock.now())
        for row in rows:
            token = replaying.set(row.id)  # the lazy listeners started by this dispatch inherit it
            try:
                response = await self.app.async_dispatch(AsyncBoltRequest(body=row.payload, mode="socket_mode"))
            finally:
                replaying.reset(token)
            if response.status != 200:
                await inbound.fail(self.container.db, row.id, f"the Slack app answered {response.status}",
                                   self.container.clock.now(), retry=False)
        return len(rows)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_due()
            except Exception as exc:
                log.warning("could not replay kept slack deliveries (%s)", type(exc).__name__)
