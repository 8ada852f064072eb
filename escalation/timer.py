"""The timer: APScheduler wakes the step job at the next due time; the ledger is the only truth.

One date job (``escalation:wake``) is re-armed after every run for the earliest PENDING step, capped at
``max_sleep`` so that steps written by other processes are found within that bound. Misfires cannot
lose anything: the job only wakes the claimer, which runs every step that is due, however late
(``misfire_grace_time=None``, ``coalesce=True``). At start-up the first wake is immediate, so overdue
steps run at once and record how late they were.

On SQLite one process per database may run the timer: an exclusive file lock next to the database,
held for the life of the process (the kernel releases it even on SIGKILL), refuses a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

from escalation import ledger
from escalation.engine import Escalation

log = logging.getLogger(__name__)

JOB_ID = "escalation:wake"
MAX_SLEEP = 10.0  # seconds: the longest a step written by another process can wait to be noticed
RETRY_SOON = 0.25  # seconds: due steps were left (locked by a concurrent transaction); look again soon


class SchedulerRefused(RuntimeError):
    """Another scheduler already runs on this SQLite database."""


class SqliteSchedulerLock:
    """An exclusive lock file beside a SQLite database, held while this process runs the scheduler."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        path = url.database if url.get_backend_name() == "sqlite" else None
        self.path = f"{path}.scheduler.lock" if path and path != ":memory:" else None
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; a no-op when this object holds it already (``tocsin serve`` takes it before
        migrating, so that a refused second process changes nothing)."""
        if self.path is None or self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise SchedulerRefused(
                f"another Tocsin scheduler (pid {holder}) already runs on this SQLite database ({self.path} is "
                "locked). SQLite allows one scheduler per database: set TOCSIN_SCHEDULER=off in this process, "
                "or move to PostgreSQL to run several."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class EscalationTimer:
    """A process component: wakes ``escalation.run_due`` exactly when the next step is due."""

    def __init__(self, escalation: Escalation, *, max_sleep: float = MAX_SLEEP,
                 after_run: Callable[[int], None] | None = None) -> None:
        self.escalation, self.db, self.clock = escalation, escalation.db, escalation.clock
        self.max_sleep, self.after_run = max_sleep, after_run
        self.lock = SqliteSchedulerLock(self.db.url)
        self.scheduler: AsyncIOScheduler | None = None
        self.armed_for: datetime | None = None
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.lock.acquire()
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every re-arm at INFO
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "misfire_grace_time": None, "coalesce": True, "max_instances": 1})
        self.scheduler.start()
        self._worker = asyncio.get_running_loop().create_task(self._work())
        self.kick()  # start-up: every overdue step runs now

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.lock.release()

    def kick(self) -> None:
        """Run the claimer now (a step may have been scheduled, snoozed or become due)."""
        self._wake.set()

    async def _fire(self) -> None:
        self.kick()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.escalation.adopt()
                ran = await self.escalation.run_due()
                if ran and self.after_run:
                    self.after_run(ran)
                await self._arm()
            except Exception:
                log.exception("the escalation timer failed; retrying in %ss", self.max_sleep)
                self._arm_in(self.max_sleep)

    async def _arm(self) -> None:
        async with self.db.sessions() as session:
            due = await ledger.next_due(session)
        if due is None:
            self._arm_in(self.max_sleep)
            return
        self._arm_in(min(self.max_sleep, max(RETRY_SOON, (due - self.clock.now()).total_seconds())))

    def _arm_in(self, seconds: float) -> None:
        assert self.scheduler is not None
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        self.armed_for = when
        self.scheduler.add_job(self._fire, "date", run_date=when, id=JOB_ID, replace_existing=True,
                               misfire_grace_time=None, coalesce=True)
