"""What every Slack listener needs, built once per process by ``bot.slack.app.build``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bot.chat.cards import CardSync
from bot.chat.receipts import Receipts
from bot.container import Container
from bot.slack.identity import SlackIdentity
from bot.slack.outbound import SlackOut
from storage import inbound

log = logging.getLogger(__name__)
OOPS = ":warning: Tocsin could not finish that (the error was logged). Try again in a minute."
PLATFORM = "slack"
#: The request a lazy listener serves (set by ``remember_delivery``), and the kept row it replays, if any.
delivery: ContextVar[dict[str, Any] | None] = ContextVar("slack_delivery", default=None)
replaying: ContextVar[int | None] = ContextVar("slack_replaying", default=None)


async def remember_delivery(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
    """Bolt middleware: the listeners, and the lazy listeners they start, see the body they serve."""
    delivery.set(body)  # not reset: Bolt runs the listeners after the middleware returns, in this task
    await next()


def delivery_key(body: dict[str, Any]) -> str:
    """What identifies one delivery from Slack: its event id or trigger id, else a digest of the body."""
    found = body.get("event_id") or body.get("trigger_id")
    return str(found) if found else "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class SlackRuntime:
    container: Container
    out: SlackOut
    identity: SlackIdentity
    cards: CardSync
    receipts: Receipts  # deliveries handled once (an Events API retry, a double click)
    team_id: str | None = None  # the workspace the bot token belongs to (auth.test)
    _in_flight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def begin(self) -> None:
        """Work will continue after the ack (counted so that shutdown and tests can wait for it)."""
        self._in_flight += 1
        self._idle.clear()

    def end(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    @contextlib.asynccontextmanager
    async def after_ack(self, respond: Any = None) -> AsyncIterator[None]:
        """Wraps a lazy listener: the work its ack listener announced with ``begin``. An unexpected
        failure (the database is down...) is logged and, given ``respond``, told to the user."""
        try:
            yield
        except Exception as exc:
            log.exception("slack listener failed")
            await self._keep_failure(exc)
            if respond is not None:
                with contextlib.suppress(Exception):
                    await respond(text=OOPS, response_type="ephemeral", replace_original=False)
        else:
            if replaying.get() is not None:
                await inbound.finish(self.container.db, replaying.get(), self.container.clock.now())
        finally:
            self.end()

    async def _keep_failure(self, exc: Exception) -> None:
        """Count the failure and keep the delivery, dead, for ``tocsin inbound replay`` (not retried on its
        own: the user was told to try again, and a retry of ours could repeat theirs)."""
        self.container.metrics.inbound_failures.labels(PLATFORM).inc()
        body, row_id, now = delivery.get(), replaying.get(), self.container.clock.now()
        try:
            if row_id is not None:
                await inbound.fail(self.container.db, row_id, inbound.describe(exc), now, retry=False)
            elif body is not None:
                kept = {k: v for k, v in body.items() if k != "token"}  # Slack's verification token
                await inbound.record_failed(self.container.db, PLATFORM, delivery_key(body), kept,
                                            inbound.describe(exc), now)
        except Exception as err:
            log.error("could not keep the failed slack delivery (%s)", type(err).__name__)

    async def idle(self, grace: float = 0.02) -> None:
        """Wait until listeners, the change bus and every card edit have finished (quiet for ``grace``)."""
        while True:
            if self._in_flight:
                await self._idle.wait()
            await self.container.bus.drain()
            await self.cards.drain()
            await asyncio.sleep(grace)
            if not self._in_flight and not self.cards.busy and not self.container.bus._tasks:
                return

    def foreign(self, team: str | None) -> bool:
        """A user from another workspace (e.g. a Slack Connect channel) may not act here."""
        return bool(self.team_id and team and team != self.team_id)
