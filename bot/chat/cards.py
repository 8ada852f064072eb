"""The live incident card, on any platform: posted where the incident's team lives when it opens, then every
copy (the team's card, copies where it was declared or shown, DM pages) edited in place after every change,
from whichever surface or process it came. Timeline events go into the card's thread where there is one.

Changes to one incident are handled one at a time, in the order committed; a storm of changes collapses
into the edit in flight and one more. Exactly one team card per incident and chat, whatever the number of
processes: a process claims the post in the database (``inbound_receipt``) before sending it, and the claim
holder alone posts it, retries it after an outage (at every sweep, renewing its claim) and, after a post
whose answer never came, lets the platform find it instead of posting it again. A claim not renewed for
``CLAIM_STALE`` has lost its holder (the process stopped): the next sweep that sees the incident changed
takes it over. A card the platform refused is not tried again until the incident changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from bot.chat import claims, copies
from bot.chat.contract import CardChannel, Copy, Where
from bot.chat.storm import Storms
from bot.pacing import Coalescer
from bot.sweep import changed_since
from storage import maintenance
from storage.clock import Clock
from storage.db import Database
from storage.queries import IncidentQueries
from storage.views import IncidentChange, IncidentView, version

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]
#: Longer than one post's retries can take (Slack: 8 attempts of up to SLACK_TIMEOUT, backoff to 30 s).
CLAIM_STALE = timedelta(minutes=10)


class CardSync:
    """A ``ChangeObserver`` keeping one platform's copies of every card in step with the incident."""

    def __init__(self, channel: CardChannel, db: Database, queries: IncidentQueries, clock: Clock,
                 storms: Storms | None = None) -> None:
        self.channel, self.db, self.queries, self.clock = channel, db, queries, clock
        self.storms = storms  # a team's storm gets one summary instead of a card per incident (bot.chat.storm)
        self.platform = channel.platform
        self.coalescer = Coalescer()
        self._queues: dict[int, deque[Job]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._shown: dict[int, str] = {}  # incident number -> version its copies show
        self._unpostable: set[tuple[int, str]] = set()  # (number, version) the platform refused
        self._missing: set[tuple[int, Where]] = set()  # claimed here while the platform was out of reach

    async def incident_changed(self, change: IncidentChange) -> None:
        # Enqueue before any await: the bus starts its tasks in commit order, and so this keeps it.
        self._enqueue(change.incident.number, partial(self._apply, change))
        if change.kind != "declared":
            self.refresh(change.incident.number)  # at once: a storm collapses into the edit in flight + one

    def post_copy(self, view: IncidentView, where: Where) -> None:
        """Also show this incident's live card in ``where`` (e.g. where it was declared), once per chat."""
        self._enqueue(view.number, partial(self._post_card, view, where))

    async def show(self, view: IncidentView, where: Where) -> Copy | None:
        """Post one more live copy now (someone asked to see it); None if the platform would not."""
        try:
            copy = await self.channel.post(view, where, marker=f"show:{view.id}:{self.clock.now().timestamp()}",
                                           uncertain=False)
        except self.channel.errors as exc:
            log.warning("could not show the card of %s in %s %s: %s", view.ref, self.platform, where.chat, exc)
            return None
        await copies.add(self.db, self.platform, view.id, copy, self.clock.now())
        return copy

    def refresh(self, number: int) -> None:
        """Re-render every copy with the incident's current state; storms collapse into few edits."""
        self.coalescer.submit(f"{self.platform}:card:{number}", partial(self._update_copies, number))

    async def sweep(self, since: datetime | None) -> datetime | None:
        """Catch up with changes made by other processes (e.g. webhooks taken by ``tocsin sidecar``), which
        this process's change bus never sees: post missing cards, refresh stale ones. Returns the new mark."""
        rows = await changed_since(self.db, since)
        for number, _ in rows:
            self._enqueue(number, partial(self._reconcile, number))
        missing, self._missing = self._missing, set()
        for number, where in sorted(missing, key=lambda m: (m[0], m[1].chat)):
            self._enqueue(number, partial(self._post_again, number, where))
        return rows[-1][1] if rows else since

    def _enqueue(self, number: int, job: Job) -> None:
        self._queues.setdefault(number, deque()).append(job)
        if number not in self._workers:
            self._workers[number] = asyncio.get_running_loop().create_task(self._work(number))

    async def _work(self, number: int) -> None:
        queue = self._queues[number]
        try:
            while queue:
                try:
                    await queue.popleft()()
                except Exception:
                    log.exception("%s card job for incident #%s failed", self.platform, number)
        finally:
            self._workers.pop(number, None)
            if not queue:
                self._queues.pop(number, None)

    async def _apply(self, change: IncidentChange) -> None:
        if change.kind == "declared":
            where = self.channel.home(change.incident)
            if where is not None and not await self._quiet(change.incident) \
                    and not await self._absorbed(change.incident, where):
                await self._post_card(change.incident, where)
            return
        cards = [c for c in await copies.of(self.db, self.platform, change.incident.id) if c.kind == "card"]
        if cards:
            try:
                await self.channel.reply(cards[0], change)
            except self.channel.errors as exc:
                log.warning("could not post to the thread of %s on %s: %s", change.incident.ref, self.platform, exc)

    async def _post_again(self, number: int, where: Where) -> None:
        await self._post_card(await self.queries.get(number), where, claimed=True)

    async def _reconcile(self, number: int) -> None:
        view = await self.queries.get(number)
        where = self.channel.home(view)
        if await copies.of(self.db, self.platform, view.id):
            if self._shown.get(number) != version(view):
                self.refresh(number)
        elif view.is_open and where and (number, version(view)) not in self._unpostable:
            if not await self._quiet(view) and not await self._absorbed(view, where):
                await self._post_card(view, where)

    async def _quiet(self, view: IncidentView) -> bool:
        """An alert-born incident covered by a running maintenance window gets no card in its team's chat;
        the first sweep after the window (the incident changes when its escalation starts) posts it."""
        if view.dedup_key is None:
            return False
        async with self.db.sessions() as session:
            return await maintenance.covering_view(session, view.team.id if view.team else None, view.service,
                                                   view.labels or {}, self.clock.now()) is not None

    async def _absorbed(self, view: IncidentView, where: Where) -> bool:
        return self.storms is not None and await self.storms.absorb(view, where)

    async def _post_card(self, view: IncidentView, where: Where, *, claimed: bool = False) -> None:
        """Post the card unless it is there or another job, here or in another process, is posting it.
        ``claimed``: this process claimed it earlier and could not post it then."""
        view = await self.queries.get(view.number)  # the current state, not the one when queued
        if any(c.chat == where.chat and c.kind == "card" for c in await copies.of(self.db, self.platform, view.id)):
            return  # already there (posted for the bus or for a sweep, whichever came first)
        claim = f"card:{view.id}:{where.chat}"
        uncertain = await self._claim(claim, claimed)
        if uncertain is None:
            return
        try:
            copy = await self.channel.post(view, where, marker=f"card:{view.id}", uncertain=uncertain)
        except self.channel.errors as exc:
            await self._not_posted(view, where, claim, exc)
            return
        await copies.add(self.db, self.platform, view.id, copy, self.clock.now())
        self._shown[view.number] = version(view)
        if version(await self.queries.get(view.number)) != version(view):
            self.refresh(view.number)  # it changed while we were posting

    async def _not_posted(self, view: IncidentView, where: Where, claim: str, exc: Exception) -> None:
        if self.channel.retry_later(exc):
            log.warning("could not post the card of %s to %s %s yet (%s); the next sweep tries again",
                        view.ref, self.platform, where.chat, exc)
            self._missing.add((view.number, where))
            return
        log.warning("could not post the card of %s to %s %s: %s", view.ref, self.platform, where.chat, exc)
        self._unpostable.add((view.number, version(view)))
        await claims.release(self.platform, self.db, claim)  # a later change may try again, from any process

    async def _claim(self, key: str, claimed: bool) -> bool | None:
        """May this job post the card? None: no, another holds it; True: yes, but an earlier attempt
        (ours, or a stopped process's) may have posted it; False: yes, and nobody tried before."""
        now = self.clock.now()
        if claimed:
            await claims.renew(self.platform, self.db, key, now)
            return True
        if await claims.claim(self.platform, self.db, key, now):
            return False
        if await claims.take_over(self.platform, self.db, key, now, now - CLAIM_STALE):
            log.info("%s: took over %s, claimed over %s ago by a process that stopped", self.platform, key,
                     CLAIM_STALE)
            return True
        return None

    async def _update_copies(self, number: int) -> None:
        view = await self.queries.get(number)
        self._shown[number] = version(view)
        for copy in await copies.of(self.db, self.platform, view.id):
            try:
                await self.channel.edit(copy, view)
            except self.channel.errors as exc:  # out of reach after every retry: this copy stays stale
                level = logging.ERROR if self.channel.retry_later(exc) else logging.WARNING
                log.log(level, "could not edit the card of %s in %s %s: %s", view.ref, self.platform, copy.chat, exc)

    @property
    def busy(self) -> bool:
        return bool(self._workers) or bool(self.coalescer._running) or bool(self.storms and self.storms.busy)

    async def drain(self) -> None:
        """Wait until every queued post and edit has been sent (shutdown, tests)."""
        while self.busy:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
            await self.coalescer.drain()
            if self.storms is not None:
                await self.storms.drain()
