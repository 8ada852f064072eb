"""The outbox dispatcher: delivers notification rows through the registered senders.

Pacing is per destination (its own limiter, so one busy chat never holds another), concurrency is per
channel (its own semaphore, so one failing channel never delays the others), retries back off
exponentially and never sooner than the platform's Retry-After. A failing channel's earliest waiting page
is tried every ``probe_every`` whatever its backoff, and the channel's first success makes the rest due.

A row is claimed by setting ``claimed_at`` and pushing ``next_attempt_at`` one lease ahead; success
marks it SENT, a failure releases it (``claimed_at`` back to NULL). A row found still claimed when its
lease ran out was lost between sending and recording, and one whose send we cut off at its deadline (the
sender's own timeout plus a margin) is left claimed too: either is "in doubt". If the sender can check
(``find``), we ask it before sending again; otherwise it is sent again (at least once), with the same
``Page.key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, not_, or_, select, update
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import failover, texts
from escalation.metrics import FAILOVERS, NOTIFICATIONS
from escalation.outbox import CANCELLED, FAILED, PENDING, SENT
from escalation.pacing import Limit, RateLimiter
from storage.background import Background
from storage.clock import Clock
from storage.db import Database
from storage.models import Incident, Notification
from storage.ports import Delivery, DeliveryError, Destination, Page, Sender
from storage.states import Status
from storage.viewbuild import full_view
from storage.views import IncidentView

log = logging.getLogger(__name__)

OPEN = (Status.OPEN.value, Status.ESCALATING.value)  # an incident that still wants its pages
SEND_MARGIN = 5.0  # seconds past a sender's own timeout before we cut a send off (and hold it in doubt)
# A sender's error may quote a URL (some platforms put the bot token in the path) or a token: never log one.
_SECRETS = re.compile(r"https?://\S+|\bbot\d+:[\w-]+|\b\d{6,}:[\w-]{20,}|\bxox[a-z]-[\w-]+|\bxapp-[\w-]+")


_STATUS = select(Incident.status).where(Incident.id == bindparam("id"))


def scrub(text: str) -> str:
    """``text`` with URLs and token-like words replaced, for a log line."""
    return _SECRETS.sub("<redacted>", text)

#: Per channel, the limits of one destination on it (by its address); each platform declares its own. A
#: channel without limits is not paced by us (its gateway's 429 + Retry-After is honoured).
Limits = Mapping[str, Callable[[str], tuple[Limit, ...]]]


@dataclass(frozen=True)
class Job:
    id: int
    incident_id: int | None  # None: a handoff notice or shift reminder (kind "oncall")
    channel: str
    destination: Destination
    kind: str
    reason: str
    message: str
    attempts: int
    in_doubt: bool
    created_at: datetime
    target: str = ""


class Dispatcher(Background):
    """Sends what the outbox holds; ``run_once`` for tests, ``start``/``stop`` as a process component."""

    def __init__(self, db: Database, clock: Clock, senders: Mapping[str, Sender], *, lease: float = 120.0,
                 max_attempts: int = 8, per_channel: int = 8, idle: float = 5.0, send_timeout: float = 20.0,
                 retry_cap: float = 300.0, failover_after: float = 120.0, probe_every: float = 10.0,
                 send_margin: float = SEND_MARGIN, limits: Limits | None = None,
                 monotonic: Callable[[], float] = time.monotonic, db_connections: int = 3) -> None:
        self.db, self.clock, self.senders = db, clock, senders
        self.lease, self.max_attempts, self.per_channel = timedelta(seconds=lease), max_attempts, per_channel
        self.idle, self.send_timeout, self.limits, self.monotonic = idle, send_timeout, limits or {}, monotonic
        self.retry_cap, self.failover_after, self.probe_every = retry_cap, failover_after, probe_every
        self.send_margin = send_margin
        # Channels whose last attempt failed, with when to try their earliest waiting page again (on the
        # clock that schedules the rows).
        self._probe_at: dict[str, datetime] = {}
        self._held: dict[tuple[str, str], datetime] = {}  # destinations a Retry-After holds, until when
        self._released: dict[str, datetime] = {}  # when each channel's waiting rows were last hurried
        self._probing: dict[str, int] = {}  # the row each channel's last probe made due
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self._slots: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(self.per_channel))
        # Sends wait on platforms, not on the database: a few connections are enough for recording them,
        # and leave the pool to the step job (a pool wait would make steps late).
        self._db = asyncio.Semaphore(db_connections)
        self._in_flight: dict[str, int] = defaultdict(int)
        self._busy: set[tuple[str, str]] = set()  # destinations with a claimed row in this process
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- claiming -----------------------------------------------------------------------------

    async def claim(self, limit: int = 100) -> list[Job]:
        """Take due rows for the channels we can send on and that have room; one lease each.

        On paced channels at most one row per destination is in this process's hands at a time, so a
        row never waits for its destination's pace long enough to outlive its lease.
        """
        channels = [c for c in self.senders if self._in_flight[c] < self.per_channel * 4]
        if not channels:
            return []
        now = self.clock.now()
        await self._probe(now)
        async with self.db.transaction() as session:
            if not self.db.is_postgres:
                await session.execute(sql("UPDATE notification SET id = id WHERE id = -1"))  # SQLite write lock
            heads = await self._heads(session, channels, now, limit)
            query = (select(Notification).where(Notification.id.in_(heads), Notification.status == PENDING,
                                                Notification.next_attempt_at <= now)
                     .order_by(Notification.next_attempt_at, Notification.id))
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            jobs: list[Job] = []
            for row in await session.scalars(query):
                thread = await self._thread(session, row)
                if thread is False:
                    continue
                jobs.append(Job(row.id, row.incident_id, row.channel,
                                Destination(row.channel, row.address, person_id=row.person_id, thread=thread or None,
                                            topic=row.topic),
                                row.kind, row.reason, row.message, row.attempts + 1, row.claimed_at is not None,
                                row.created_at, row.target))
                row.claimed_at, row.attempts, row.next_attempt_at = now, row.attempts + 1, now + self.lease
                if row.channel in self.limits:
                    self._busy.add((row.channel, row.address))
        return jobs

    async def _probe(self, now: datetime) -> None:
        """A failing channel's earliest waiting page is tried every ``probe_every`` whatever its backoff:
        the first success releases the rest (``_release``), so recovery is not a wait for the cap."""
        for channel, at in list(self._probe_at.items()):
            if at > now or self._hurried_lately(channel, now):
                continue
            self._probe_at[channel] = now + self._probe_pace
            self._released[channel] = now
            async with self._db, self.db.transaction() as session:
                first = await session.scalar(select(Notification.id).where(
                    *self._waiting(channel, now), Notification.kind == "page")
                    .order_by(Notification.next_attempt_at, Notification.id).limit(1))
                if first is None:
                    del self._probe_at[channel]  # nothing waits on it any more
                    continue
                await session.execute(update(Notification).where(Notification.id == first)
                                      .values(next_attempt_at=now))
            self._probing[channel] = first

    @property
    def _probe_pace(self) -> timedelta:
        return timedelta(seconds=self.probe_every)

    def _hurried_lately(self, channel: str, now: datetime) -> bool:
        """A probe or a release of ``channel`` less than ``probe_every`` ago: one of them per pace at most."""
        last = self._released.get(channel)
        return last is not None and last > now - self._probe_pace

    def _waiting(self, channel: str, now: datetime) -> list:
        """Rows of ``channel`` waiting out a backoff after failing there (not ones a Retry-After holds)."""
        held = [a for (c, a), until in self._held.items() if c == channel and until > now]
        return [Notification.channel == channel, Notification.status == PENDING, Notification.claimed_at.is_(None),
                Notification.attempts > 0, Notification.next_attempt_at > now,
                *([Notification.address.not_in(held)] if held else [])]

    async def _release(self, job: Job, now: datetime) -> None:
        """``job``'s channel delivered again after failing: what waits for a retry there is due now (pacing
        and the channel's concurrency still spread the sends)."""
        channel = job.channel
        probed = self._probing.get(channel) == job.id
        if channel not in self._probe_at or (self._hurried_lately(channel, now) and not probed):
            return  # not failing; or hurried a moment ago (one bad destination must not be retried per send)
        self._probing.pop(channel, None)
        del self._probe_at[channel]
        self._released[channel] = now
        try:
            async with self._db, self.db.transaction() as session:
                released = (await session.execute(update(Notification).where(*self._waiting(channel, now))
                                                  .values(next_attempt_at=now))).rowcount  # type: ignore[attr-defined]
        except Exception as exc:  # the page was sent and recorded: this only speeds the others up
            log.warning("could not release the notifications waiting on %s: %s", channel, scrub(repr(exc)))
            return
        if released:
            log.info("%s delivered again: %s waiting notifications are due now", channel, released)
            self.kick()

    async def _heads(self, session: AsyncSession, channels: list[str], now: datetime, limit: int) -> list[int]:
        """The oldest due row of each destination that is not already in our hands, oldest first."""
        due = [Notification.status == PENDING, Notification.next_attempt_at <= now, Notification.channel.in_(channels)]
        if self._busy:
            due.append(not_(or_(*(and_(Notification.channel == c, Notification.address == a) for c, a in self._busy))))
        rank = func.row_number().over(partition_by=(Notification.channel, Notification.address),
                                      order_by=(Notification.next_attempt_at, Notification.id))
        ranked = select(Notification.id, Notification.channel, Notification.next_attempt_at,
                        rank.label("rank")).where(*due).subquery()
        unpaced = [c for c in channels if c not in self.limits]  # these may have several rows in flight
        rows = (await session.execute(select(ranked.c.id, ranked.c.channel)
                                      .where(or_(ranked.c.rank == 1, ranked.c.channel.in_(unpaced)))
                                      .order_by(ranked.c.next_attempt_at, ranked.c.id).limit(limit * 2))).all()
        room = {c: self.per_channel * 4 - self._in_flight[c] for c in channels}
        picked = []
        for row_id, channel in rows:
            if room[channel] > 0 and len(picked) < limit:
                room[channel] -= 1
                picked.append(row_id)
        return picked

    async def _thread(self, session: AsyncSession, row: Notification) -> str | bool | None:
        """For a notice: the thread of the page it answers (False: not now, or never)."""
        if row.parent_id is None:
            return None
        parent = await session.get(Notification, row.parent_id)
        if parent.status == PENDING:
            row.next_attempt_at = self.clock.now() + timedelta(seconds=2)
            return False
        if parent.status != SENT:
            row.status, row.note = CANCELLED, f"the page it answers was never delivered ({parent.status})"
            return False
        return parent.thread or parent.reference

    # -- delivering ---------------------------------------------------------------------------

    async def run_once(self, limit: int = 100) -> int:
        """Claim what is due and deliver it; returns how many were attempted."""
        jobs = await self.claim(limit)
        await asyncio.gather(*(self.deliver(job, views={}) for job in jobs))
        return len(jobs)

    async def drain(self, rounds: int = 50) -> None:
        """Deliver until nothing is due now (tests)."""
        for _ in range(rounds):
            if not await self.run_once():
                return

    def _limiter(self, destination: Destination) -> RateLimiter:
        key = (destination.channel, destination.address)
        if key not in self._limiters:
            pace = self.limits.get(destination.channel)
            self._limiters[key] = RateLimiter(pace(destination.address) if pace else (), now=self.monotonic)
        return self._limiters[key]

    def _keys(self, destination: Destination) -> tuple[str, ...]:
        """One key per limit of the destination (its limiter is its own: the keys only tell the limits apart)."""
        return tuple(limit.scope for limit in self._limiter(destination).limits)

    def deadline(self, sender: Sender) -> float:
        """Seconds we give one send (or look) on ``sender``: its own timeout plus a margin, so that the
        sender gives up first and knows what it left unanswered; ``send_timeout`` if it names none."""
        timeout = getattr(sender, "timeout", None)
        return self.send_timeout if timeout is None else timeout + self.send_margin

    async def deliver(self, job: Job, views: dict[int, IncidentView] | None = None) -> None:
        """Send one claimed notification and record the outcome."""
        sender = self.senders[job.channel]
        self._in_flight[job.channel] += 1
        doubt = job.in_doubt  # until the platform told us whether an earlier attempt went through
        try:
            async with self._slots[job.channel]:
                fresh = views is None or job.incident_id not in views  # read now, after the claim
                view = await self._view(job.incident_id, views) if job.incident_id is not None else None
                page = Page(view, job.reason, job.message, job.kind, key=f"tocsin-notification-{job.id}")
                delivery, note = None, None
                find = getattr(sender, "find", None)
                if job.in_doubt and find is not None:
                    delivery = await asyncio.wait_for(find(job.destination, page), self.deadline(sender))
                    note = "found already delivered after an interrupted attempt" if delivery else None
                    doubt = False
                if delivery is None:
                    limiter = self._limiter(job.destination)
                    waited = await limiter.acquire(*self._keys(job.destination))
                    just_read = fresh and not waited and not job.in_doubt  # nothing awaited since the view
                    if job.kind == "page" and await self._dropped(job, page.incident if just_read else None):
                        return
                    doubt = True  # from here on, a send we cut off may have reached the platform
                    delivery = await asyncio.wait_for(sender.send(job.destination, page), self.deadline(sender))
            await self._sent(job, delivery, note)
        except DeliveryError as exc:
            if exc.retry_after:
                for key in self._keys(job.destination):
                    self._limiter(job.destination).block(key, exc.retry_after)
            await self._failed(job, str(exc) or type(exc).__name__, exc.retry_after, exc.permanent,
                               in_doubt=doubt and job.in_doubt)
        except TimeoutError:  # our deadline: the sender did not answer, and what it sent may have arrived
            log.warning("sending notification %s on %s got no answer within %.0f s; in doubt until the next attempt",
                        job.id, job.channel, self.deadline(sender))
            await self._failed(job, f"no answer within {self.deadline(sender):.0f} s", None, False, in_doubt=doubt)
        except Exception as exc:  # a bug in a sender: retry like a transient failure
            log.warning("sending notification %s on %s failed: %s", job.id, job.channel, scrub(repr(exc)))
            await self._failed(job, f"{type(exc).__name__}: {exc}", None, False, in_doubt=doubt and job.in_doubt)
        finally:
            self._in_flight[job.channel] -= 1
            self._busy.discard((job.channel, job.destination.address))

    async def _dropped(self, job: Job, view: IncidentView | None) -> bool:
        """Re-read the incident just before a page goes out (``view``: it was, a moment ago): a page of an
        incident closed since the claim is dropped."""
        if view is not None:
            status = view.status.value
        else:
            async with self._db, self.db.engine.connect() as conn:  # a Core read: no session for one column
                status = await conn.scalar(_STATUS, {"id": job.incident_id})
        if status in OPEN:
            return False
        async with self._db, self.db.transaction() as session:
            await session.execute(update(Notification).where(Notification.id == job.id).values(
                status=CANCELLED, claimed_at=None, note=f"incident {status} before it was sent"))
        NOTIFICATIONS.labels(job.channel, "dropped").inc()
        return True

    async def _view(self, incident_id: int, views: dict[int, IncidentView] | None) -> IncidentView:
        if views is not None and incident_id in views:
            return views[incident_id]
        async with self._db, self.db.sessions() as session:
            view = await full_view(session, await session.get(Incident, incident_id), self.clock.now())
        if views is not None:
            views[incident_id] = view
        return view

    async def _sent(self, job: Job, delivery: Delivery, note: str | None) -> None:
        now = self.clock.now()
        async with self._db, self.db.transaction() as session:
            await session.execute(update(Notification).where(Notification.id == job.id).values(
                status=SENT, sent_at=now, reference=delivery.reference[:200] if delivery.reference else None,
                thread=(delivery.thread or None), last_error=None, **({"note": note} if note else {})))
        NOTIFICATIONS.labels(job.channel, "sent").inc()
        await self._release(job, now)

    async def _failed(self, job: Job, error: str, retry_after: float | None, permanent: bool, *,
                      in_doubt: bool = False) -> None:
        """Record a failed attempt; a page is retried for as long as its incident is open (closing it
        cancels the page), a notice up to ``max_attempts`` times; a page failing for a while fails over.
        ``in_doubt``: it may have been delivered, so the row stays claimed and the next attempt asks first."""
        now = self.clock.now()
        final = permanent or (job.kind != "page" and job.attempts >= self.max_attempts)
        backoff = min(self.retry_cap, 2.0 * 2 ** min(job.attempts - 1, 20))
        failover_in = (job.created_at - now).total_seconds() + self.failover_after
        if job.kind == "page" and not job.reason.startswith("failover:") and failover_in > 0:
            backoff = min(backoff, failover_in)  # an attempt at the failover time, however the retries went
        delay = max(backoff, retry_after or 0.0)
        async with self._db, self.db.transaction() as session:
            await session.execute(update(Notification).where(Notification.id == job.id).values(
                status=FAILED if final else PENDING, claimed_at=now if in_doubt and not final else None,
                last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=delay)))
            moved = await self._fail_over(session, job, now, permanent)
        NOTIFICATIONS.labels(job.channel, "failed" if final else "retry").inc()
        if retry_after:
            self._held = {k: until for k, until in self._held.items() if until > now}
            self._held[(job.channel, job.destination.address)] = now + timedelta(seconds=delay)
        elif not permanent:
            self._probe_at.setdefault(job.channel, now + timedelta(seconds=self.probe_every))
        if moved is not None:
            self._report_failover(job, moved, now, error)

    async def _fail_over(self, session: AsyncSession, job: Job, now: datetime,
                         permanent: bool) -> failover.FailedOver | None:
        if job.kind != "page" or job.reason.startswith("failover:"):
            return None
        if not permanent and (now - job.created_at).total_seconds() < self.failover_after:
            return None
        marked = await session.execute(update(Notification).where(
            Notification.id == job.id, Notification.failed_over_at.is_(None)).values(failed_over_at=now))
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            return None  # done on an earlier attempt
        row = await session.get(Notification, job.id)
        return await failover.fail_over(session, row, self.senders.keys(), now, refused=permanent)

    def _report_failover(self, job: Job, moved: failover.FailedOver, now: datetime, error: str) -> None:
        elsewhere = ", ".join(moved.channels) or "no other channel (none left that reaches them)"
        log.error("%s has not delivered page %s of incident #%s to %s for %s (%s); paged on %s; team told on %s",
                  job.channel, job.id, moved.number, job.target, texts.ago(now - job.created_at),
                  scrub(error)[:200], elsewhere, ", ".join(moved.told) or "no other surface")
        FAILOVERS.labels(job.channel).inc()
        self.kick()

    # -- the process component ----------------------------------------------------------------

    def kick(self) -> None:
        """Something was queued: look now rather than at the next timed wake."""
        self._wake.set()

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                views: dict[int, IncidentView] = {}
                for job in await self.claim():
                    task = asyncio.get_running_loop().create_task(self.deliver(job, views))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                wait = await self._next_wait()
            except Exception:
                log.exception("the notification dispatcher failed; retrying")
                wait = self.idle
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _next_wait(self) -> float:
        async with self.db.sessions() as session:
            first = await session.scalar(select(func.min(Notification.next_attempt_at)).where(
                Notification.status == PENDING, Notification.channel.in_(list(self.senders))))
        first = min(filter(None, (first, *self._probe_at.values())), default=None)
        if first is None:
            return self.idle
        return min(self.idle, max(0.05, (first - self.clock.now()).total_seconds()))
