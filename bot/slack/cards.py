"""The live incident card: posted to the team's channel when an incident opens, then every Slack copy
(channel card, DM pages) is edited in place after every change, from whichever surface it came.

Timeline events go into the channel card's thread, naming the actor without mentioning them.

Exactly one card per incident and channel, whatever the number of processes: a process claims the post in
the database (``inbound_receipt``) before sending it, and the claim holder alone posts it, retries it
after an outage (at every sweep, renewing its claim) and, after a post whose answer never came, finds it in
Slack instead of posting it again (``SlackOut.post``). A claim not renewed for ``CLAIM_STALE`` has lost its
holder (the process stopped): the next sweep that sees the incident changed takes it over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from uuid import uuid4

from slack_sdk.errors import SlackApiError

from bot.pacing import Coalescer
from bot.slack import receipts, refs, scopes
from bot.slack.outbound import FAILED, SlackOut, SlackUnavailable
from bot.slack.render import render_card, render_change_line
from bot.sweep import changed_since
from storage.clock import Clock
from storage.db import Database
from storage.queries import IncidentQueries
from storage.views import IncidentChange, IncidentView, version

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]
#: Longer than one post's retries can take (8 attempts of up to SLACK_TIMEOUT, backoff to 30 s).
CLAIM_STALE = timedelta(minutes=10)


class CardSync:
    """A ``ChangeObserver``; changes to one incident are handled one at a time, in the order committed."""

    def __init__(self, out: SlackOut, db: Database, queries: IncidentQueries, clock: Clock) -> None:
        self.out, self.db, self.queries, self.clock = out, db, queries, clock
        self.coalescer = Coalescer()
        self._queues: dict[int, deque[Job]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._shown: dict[int, str] = {}  # incident number -> version its copies show
        self._unpostable: set[tuple[int, str]] = set()
        self._missing: set[tuple[int, str]] = set()  # (number, channel): claimed here, Slack was down

    async def incident_changed(self, change: IncidentChange) -> None:
        # Enqueue before any await: the bus starts its tasks in commit order, and so this keeps it.
        self._enqueue(change.incident.number, partial(self._apply, change))
        if change.kind != "declared":
            self.refresh(change.incident.number)  # at once: a storm collapses into the edit in flight + one

    def post_copy(self, view: IncidentView, channel: str) -> None:
        """Also show this incident's live card in ``channel`` (e.g. where it was declared)."""
        self._enqueue(view.number, partial(self._post_card, view, channel))

    def refresh(self, number: int) -> None:
        """Re-render every copy with the incident's current state; storms collapse into few edits."""
        self.coalescer.submit(f"card:{number}", partial(self._update_copies, number))

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
                    log.exception("slack card job for incident #%s failed", number)
        finally:
            self._workers.pop(number, None)
            if not queue:
                self._queues.pop(number, None)

    async def _apply(self, change: IncidentChange) -> None:
        view = change.incident
        if change.kind == "declared":
            if view.team and view.team.slack_channel_id:
                await self._post_card(view, view.team.slack_channel_id)
            return
        await self._post_thread_line(view, render_change_line(change))

    async def sweep(self, since: datetime | None) -> datetime | None:
        """Catch up with changes made by other processes (e.g. webhooks taken by ``tocsin sidecar``), which
        this process's change bus never sees: post missing cards, refresh stale ones. Returns the new mark."""
        rows = await changed_since(self.db, since)
        for number, _ in rows:
            self._enqueue(number, partial(self._reconcile, number))
        missing, self._missing = self._missing, set()
        for number, channel in sorted(missing):
            self._enqueue(number, partial(self._post_again, number, channel))
        return rows[-1][1] if rows else since

    async def _post_again(self, number: int, channel: str) -> None:
        await self._post_card(await self.queries.get(number), channel, claimed=True)

    async def _reconcile(self, number: int) -> None:
        view = await self.queries.get(number)
        channel = view.team.slack_channel_id if view.team else None
        if await refs.copies(self.db, view.id):
            if self._shown.get(number) != version(view):
                self.refresh(number)
        elif view.is_open and channel and (number, version(view)) not in self._unpostable:
            await self._post_card(view, channel)

    async def _post_card(self, view: IncidentView, channel: str, *, claimed: bool = False) -> None:
        """Post the card unless it is there or another job, here or in another process, is posting it.
        ``claimed``: this process claimed it earlier and could not post it then."""
        view = await self.queries.get(view.number)  # the current state, not the one when queued
        if any(c.chat_id == channel and c.kind == "card" for c in await refs.copies(self.db, view.id)):
            return  # already there (posted for the bus or for a sweep, whichever came first)
        claim = f"card:{view.id}:{channel}"
        uncertain = await self._claim(claim, claimed)
        if uncertain is None:
            return
        try:
            data = await self.out.post(f"card:{view.id}", uncertain=uncertain, channel=channel, unfurl_links=False,
                                       **render_card(view))
        except SlackUnavailable as exc:
            log.warning("could not post the card of %s to %s yet (%s); the next sweep tries again",
                        view.ref, channel, exc)
            self._missing.add((view.number, channel))
            return
        except SlackApiError as exc:
            log.warning("could not post the card of %s to %s: %s", view.ref, channel, exc)
            self._unpostable.add((view.number, version(view)))
            await receipts.release(self.db, claim)  # a later change may try again, from any process
            return
        await refs.add(self.db, view.id, data["channel"], data["ts"], self.clock.now())
        self._shown[view.number] = version(view)
        if version(await self.queries.get(view.number)) != version(view):
            self.refresh(view.number)  # it changed while we were posting

    async def _claim(self, key: str, claimed: bool) -> bool | None:
        """May this job post the card? None: no, another holds it; True: yes, but an earlier attempt
        (ours, or a stopped process's) may have posted it; False: yes, and nobody tried before."""
        now = self.clock.now()
        if claimed:
            await receipts.renew(self.db, key, now)
            return True
        if await receipts.claim(self.db, key, now):
            return False
        if await receipts.take_over(self.db, key, now, now - CLAIM_STALE):
            log.info("slack: took over %s, claimed over %s ago by a process that stopped", key, CLAIM_STALE)
            return True
        return None

    async def _post_thread_line(self, view: IncidentView, text: str) -> None:
        cards = [r for r in await refs.copies(self.db, view.id) if r.kind == "card"]
        if not cards:
            return
        parent = cards[0]
        try:
            await self.out.post(f"line:{uuid4().hex}", channel=parent.chat_id, thread_ts=parent.message_id,
                                text=text, unfurl_links=False)
        except FAILED as exc:
            log.warning("could not post to the thread of %s: %s", view.ref, exc)

    async def _update_copies(self, number: int) -> None:
        view = await self.queries.get(number)
        payload = render_card(view)
        self._shown[number] = version(view)
        for copy in await refs.copies(self.db, view.id):
            try:
                await self.out.call(scopes.UPDATE, channel=copy.chat_id, ts=copy.message_id,
                                    **payload)
            except FAILED as exc:
                log.warning("could not update the card of %s in %s: %s", view.ref, copy.chat_id, exc)

    @property
    def busy(self) -> bool:
        return bool(self._workers) or bool(self.coalescer._running)

    async def drain(self) -> None:
        """Wait until every queued post and edit has been sent (shutdown, tests)."""
        while self.busy:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
            await self.coalescer.drain()

