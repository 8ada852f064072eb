"""Group commit: deliveries that arrive while a transaction is being written share the next one.

A delivery's cost is mostly per transaction (locks, reads, a handful of writes, the commit) rather than
per alert, so the process keeps one transaction in flight, applies whatever has queued up meanwhile in
the next ``AlertIngest.ingest_all`` call, and answers each sender once that transaction has committed.
A delivery that finds the writer idle and no other sender about is applied at once, so a lone delivery
costs what it always did; while senders are concurrent the writer waits up to ``linger`` for the ones
it just answered (see ``_gather``). One writer measured better than several on two cores: each
transaction then takes more deliveries, and the statements per delivery are what the CPU goes on.

Each sender still gets its own result, and only after its alerts are durable. If a batch fails for a
reason other than the database being unreachable, its deliveries are applied again one by one, so a
delivery that cannot be stored fails alone and never takes its neighbours with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import psycopg
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage.errors import DatabaseUnavailable
from storage.ingest.apply import AlertIngest
from storage.ingest.model import Delivery, IngestResult, Route

log = logging.getLogger(__name__)

#: Failures of the database itself: every delivery of the batch would meet them again, one by one.
UNAVAILABLE = (DatabaseUnavailable, OperationalError, InterfaceError, psycopg.OperationalError,
               psycopg.InterfaceError, PoolTimeout, OSError, TimeoutError)

_Waiting = tuple[Delivery, Route, "asyncio.Future[IngestResult]"]


class GroupCommit:
    """``ingest`` one delivery at a time from any number of tasks; transactions are shared underneath."""

    def __init__(self, ingest: AlertIngest, limit: int = 64, linger: float = 0.002) -> None:
        self.alerts = ingest
        self.limit = limit  # deliveries per transaction at most
        self.linger = linger  # seconds a writer waits for stragglers, only while senders are concurrent
        self._senders = 0  # deliveries in hand when the last transaction ended: how many send at once
        self._waiting: list[_Waiting] = []
        self._enough = asyncio.Event()  # set once as many deliveries wait as ``_gather`` hopes for
        self._writer: asyncio.Task[None] | None = None  # one transaction in flight at a time

    async def ingest(self, delivery: Delivery, route: Route) -> IngestResult:
        """Apply the delivery (with whatever else is waiting) and return its result once committed."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, route, future))
        if len(self._waiting) >= self._senders:
            self._enough.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                await self._gather()
                batch, self._waiting = self._waiting[:self.limit], self._waiting[self.limit:]
                await self._commit(batch)
                self._senders = len(batch) + len(self._waiting)
                batch = []
        except BaseException:  # cancelled at shutdown: nobody may wait forever
            for *_, future in [*batch, *self._waiting]:
                _settle(future, exception=DatabaseUnavailable("the delivery was not stored (the ingest writer stopped)"))
            self._waiting = []
            raise

    async def _gather(self) -> None:
        """While senders are concurrent, wait briefly (``linger`` at most) until as many deliveries wait as
        there were in hand when the last transaction ended: the senders answered a moment ago are sending
        again, and joining this transaction costs them far less than one of their own. A lone sender
        never waits."""
        if len(self._waiting) >= self._senders:
            return
        self._enough.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.linger):
                await self._enough.wait()

    async def _commit(self, batch: Sequence[_Waiting]) -> None:
        try:
            results = await self.alerts.ingest_all([(delivery, route) for delivery, route, _ in batch])
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, UNAVAILABLE):
                for *_, future in batch:
                    _settle(future, exception=exc)
                return
            log.warning("a batch of %d deliveries failed (%s); applying them one by one", len(batch),
                        type(exc).__name__)
            for item in batch:
                await self._commit([item])
            return
        for (*_, future), result in zip(batch, results, strict=True):
            _settle(future, result)


def _settle(future: asyncio.Future[IngestResult], result: IngestResult | None = None,
            exception: BaseException | None = None) -> None:
    if future.done():  # its sender went away (the request was cancelled): the delivery is stored anyway
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        assert result is not None
        future.set_result(result)
