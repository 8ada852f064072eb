"""Pages and closing notices for the signed-in person: the notification rows of channel "shell" that
``tocsin serve`` has sent (``bot.shell.sender``) since the session began, printed as they come."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select

from bot.shell.channel import ShellCards
from bot.shell.sender import CHANNEL
from storage.background import Background
from storage.models import Incident, Notification
from storage.ports import Page
from storage.queries import IncidentQueries

log = logging.getLogger(__name__)
POLL = 2.0  # seconds: a page waits at most this long after the dispatcher sent it


class ShellInbox(Background):
    """Prints what was sent to ``person_id`` on the shell since ``since``, oldest first, once each."""

    def __init__(self, queries: IncidentQueries, cards: ShellCards, person_id: int, since: datetime,
                 interval: float = POLL) -> None:
        self.queries, self.cards, self.person_id, self.since, self.interval = queries, cards, person_id, since, interval
        self._last_id = 0

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
                 .where(n.channel == CHANNEL, n.person_id == self.person_id, n.status == "SENT",
                        n.sent_at >= self.since, n.id > self._last_id).order_by(n.id))
        async with self.queries.db.sessions() as session:
            return [tuple(row) for row in (await session.execute(query)).all()]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except OSError as exc:  # the terminal took no output: the rest waits for the next check
                log.warning("could not print a page: %s", exc)
            except Exception:
                log.exception("shell inbox check failed")
