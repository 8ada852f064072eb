"""What every Slack listener needs, built once per process by ``bot.slack.app.build``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot.container import Container
from bot.slack.cards import CardSync
from bot.slack.identity import SlackIdentity
from bot.slack.outbound import SlackOut

log = logging.getLogger(__name__)
OOPS = ":warning: Tocsin could not finish that (the error was logged). Try again in a minute."


@dataclass
class SlackRuntime:
    container: Container
    out: SlackOut
    identity: SlackIdentity
    cards: CardSync
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
        except Exception:
            log.exception("slack listener failed")
            if respond is not None:
                with contextlib.suppress(Exception):
                    await respond(text=OOPS, response_type="ephemeral", replace_original=False)
        finally:
            self.end()

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
