"""Cross-process wake-ups on PostgreSQL: ``NOTIFY tocsin_escalation`` when a change schedules steps or
queues notifications (delivered at commit), and a listener that kicks this process's timer and dispatcher.

Without it (SQLite, or while the listener reconnects) other processes' work is still found within the
timer's and dispatcher's bounded sleeps; this only makes it immediate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from storage import pgdriver
from storage.background import Background

log = logging.getLogger(__name__)

CHANNEL = "tocsin_escalation"


async def notify(session: AsyncSession) -> None:
    """Tell every listening process, when this transaction commits, that there is work."""
    if pgdriver.is_postgres(session):
        (await pgdriver.driver(session)).later(f"NOTIFY {CHANNEL}")


class Listener(Background):
    """A process component: LISTEN on its own connection and call ``wake`` for every notification."""

    def __init__(self, database_url: str, wake: Callable[[], None], retry: float = 5.0) -> None:
        self.conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.wake, self.retry = wake, retry
        self.listening = asyncio.Event()

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self.wake()  # anything notified while we were not listening
                    async for _ in conn.notifies():
                        self.wake()
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                log.warning("escalation listener lost its connection (%s); retrying in %ss", exc, self.retry)
                await asyncio.sleep(self.retry)
