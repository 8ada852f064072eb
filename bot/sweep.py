"""Catching up with other processes: every surface's cards follow changes this process's bus never saw.

An incident opened from a webhook by ``tocsin sidecar``, or changed by another replica, only reaches
this process through the database. Each surface's card syncer has a ``sweep(mark)`` that reconciles the
incidents changed since ``mark``; ``CardSweeper`` runs it every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select

from storage.background import Background
from storage.db import Database
from storage.models import Incident

log = logging.getLogger(__name__)
Mark = datetime | None
#: Seconds between two sweeps: how long a change made in another process may take to reach a card.
INTERVAL = 10.0


class Sweeps(Protocol):
    async def sweep(self, since: Mark) -> Mark: ...


async def changed_since(db: Database, since: Mark, limit: int = 200) -> list[tuple[int, datetime]]:
    """(number, updated_at) of incidents changed at or after ``since`` (oldest first), by any process.

    The instant ``since`` is read again whole (another transaction may have committed at that same
    instant after the last sweep), then about ``limit`` newer changes, never stopping inside an instant:
    a batch of alerts changes many incidents at one ``updated_at``, and a page cut inside it would leave
    the mark there and the rest of the batch unread for ever."""
    pick = select(Incident.number, Incident.updated_at).order_by(Incident.updated_at, Incident.number)
    async with db.sessions() as session:
        rows: list[tuple[int, datetime]] = []
        newer = pick.limit(limit)
        if since is not None:
            rows += (await session.execute(pick.where(Incident.updated_at == since))).all()
            newer = newer.where(Incident.updated_at > since)
        page = list((await session.execute(newer)).all())
        if len(page) == limit:  # complete the page's last instant, however many it holds
            last, seen = page[-1][1], {number for number, _ in page}
            rest = await session.execute(pick.where(Incident.updated_at == last))
            page += [(number, at) for number, at in rest.all() if number not in seen]
    return rows + page


async def latest_change(db: Database) -> Mark:
    async with db.sessions() as session:
        return await session.scalar(select(func.max(Incident.updated_at)))


class CardSweeper(Background):
    """Runs ``cards.sweep`` every ``interval`` seconds for the life of the process (a Component)."""

    def __init__(self, cards: Sweeps, db: Database, interval: float = INTERVAL, *, name: str = "card") -> None:
        self.cards, self.db, self.interval, self.name = cards, db, interval, name
        self._mark: Mark = None

    async def start(self) -> None:
        self._mark = await latest_change(self.db)  # changes from now on; earlier ones were shown already
        await super().start()

    async def _run(self) -> None:
        mark = self._mark
        while True:
            await asyncio.sleep(self.interval)
            try:
                mark = await self.cards.sweep(mark)
            except Exception:
                log.exception("%s sweep failed", self.name)

