"""Pages and closing notices for the signed-in person: the notification rows of channel "shell" that
``tocsin serve`` has sent (``bot.notify.inbox``) since the session began, printed as they come."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.container import Container
from bot.shell.channel import ShellCards
from bot.shell.platform import NAME
from storage import identity
from storage.background import Background
from storage.models import Incident, Notification
from storage.ports import Page

if TYPE_CHECKING:
    from bot.shell.session import SignedIn

log = logging.getLogger(__name__)
POLL = 2.0  # seconds: a page waits at most this long after the dispatcher sent it


class ShellInbox(Background):
    """Prints what was sent to the person on the shell since ``since``, oldest first, once each, and keeps
    them reachable there while the session lasts (another of their sessions may have ended meanwhile)."""

    def __init__(self, container: Container, cards: ShellCards, person: SignedIn, since: datetime,
                 interval: float = POLL) -> None:
        self.db, self.queries, self.clock = container.db, container.queries, container.clock
        self.cards, self.since, self.interval = cards, since, interval
        self.person_id, self.account = person.person_id, person.actor.external_id
        self._last_id = 0

    async def keep_reachable(self) -> None:
        """Reachable since sign-in, or since now if a session of theirs that ended cleared it."""
        await identity.set_reachable(self.db, NAME, self.account, self.clock.now(), keep_earlier=True)

    async def check(self) -> int:
        """Print what arrived since the last check; how many."""
        rows = await self._arrived()
        for row_id, number, reason, message, kind in rows:
            await self.cards.print_page(Page(await self.queries.get(number), reason, message, kind))
            self._last_id = row_id
        return len(rows)

    async def _arrived(self) -> list[tuple[int, int, str, str, str]]:
        n = Notification
        query = (select(n.id, Incident.number, n.reason, n.message, n.kind).join(Incident, Incident.id == n.incident_id)
                 .where(n.channel == NAME, n.person_id == self.person_id, n.status == "SENT",
                        n.sent_at >= self.since, n.id > self._last_id).order_by(n.id))
        async with self.db.sessions() as session:
            return [tuple(row) for row in (await session.execute(query)).all()]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.keep_reachable()
                await self.check()
            except OSError as exc:  # the terminal took no output: the rest waits for the next check
                log.warning("could not print a page: %s", exc)
            except Exception:
                log.exception("shell inbox check failed")
