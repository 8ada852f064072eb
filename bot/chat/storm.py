"""Storm coalescing: when one team gets many new incidents in a short time, its chat gets one summary card
that keeps updating instead of one card per incident (docs/noise.md, "Storms").

The rule is read from the incidents themselves, so every process reaches the same answer: a team's new
incidents form a run while each comes within ``window`` of the one before; a storm starts at the first
incident of the run that makes more than ``threshold`` within ``window``, and lasts to the end of the run
(a quiet ``window`` ends it). The incidents of a storm get no card of their own; the storm's summary is
claimed in the database (``inbound_receipt``), so it is posted once whatever the number of processes, and
it is edited at most once per ``update_every``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.chat import claims, copies
from bot.chat.contract import Copy, Where
from bot.config_file import StormConfig
from storage.clock import Clock
from storage.db import Database
from storage.models import ChatMessageRef, Incident
from storage.views import IncidentView

log = logging.getLogger(__name__)
#: How far back a run is read: a storm longer than this starts a new summary.
LOOKBACK = timedelta(hours=1)
#: How many incidents a summary names; the rest are counted.
LISTED = 5
KIND = "storm"


@dataclass(frozen=True)
class Member:
    id: int
    number: int
    title: str
    created_at: datetime


@dataclass(frozen=True)
class Storm:
    """One storm of one team: the incidents of its run, and those of them the summary stands for."""

    team: str
    run: tuple[Member, ...]
    summarised: tuple[Member, ...]

    @property
    def anchor(self) -> Member:
        return self.summarised[0]


def storms_in(team: str, rows: list[Member], rule: StormConfig) -> list[Storm]:
    """The storms among a team's new incidents (oldest first), by the rule of the module's docstring."""
    window, found, run = timedelta(seconds=rule.window), [], []
    for row in rows + [None]:
        if row is None or (run and row.created_at - run[-1].created_at > window):
            start = next((i for i, m in enumerate(run)
                          if sum(1 for o in run[:i + 1] if m.created_at - o.created_at < window) > rule.threshold),
                         None)
            if start is not None:
                found.append(Storm(team, tuple(run), tuple(run[start:])))
            run = []
        if row is not None:
            run.append(row)
    return found


def render_storm_text(storm: Storm, window: int) -> str:
    """The summary's words, on every platform: how many, which, and how many more."""
    names = ", ".join(f"#{m.number} {m.title}" for m in storm.summarised[:LISTED])
    more = len(storm.summarised) - LISTED
    span = "in the last minute" if window == 60 else f"within {window} s of each other"
    return (f"Storm: {len(storm.run)} new incidents in {storm.team} {span}, {len(storm.summarised)} of them "
            f"without a card of their own: {names}" + (f" ... and {more} more" if more > 0 else "")
            + " (/incident show N posts one's card)")


class Storms:
    """One platform's storm summaries: decides whether a new incident's card is left out, keeps the summary."""

    def __init__(self, channel, db: Database, clock: Clock, rules: Callable[[str], StormConfig]) -> None:
        self.channel, self.db, self.clock, self.rules = channel, db, clock, rules
        self.platform = channel.platform
        self._dirty: set[tuple[int, str]] = set()
        self._tasks: dict[tuple[int, str], asyncio.Task[None]] = {}
        self._said: dict[tuple[int, str], str] = {}
        # One storm question at a time: in a storm every new incident asks, and each reads the team's run;
        # asked all at once they would hold every pooled connection the cards and the ingest need too.
        self._asking = asyncio.Lock()  # what each summary says, as this process last sent it

    async def absorb(self, view: IncidentView, where: Where) -> bool:
        """True if the incident is part of a storm: it gets no card, the storm's summary shows it."""
        if view.team is None:
            return False
        async with self._asking:
            storm = await self._storm_of(view.team.id, view.team.name, view.created_at, view.number)
        if storm is None:
            return False
        self._touch(storm.anchor.id, view.team.id, view.team.name, where)
        return True

    async def _storm_of(self, team_id: int, team: str, at: datetime, number: int) -> Storm | None:
        rule = self.rules(team)
        if not rule.enabled:
            return None
        for storm in storms_in(team, await self._rows(team_id, at - LOOKBACK), rule):
            if any(m.number == number for m in storm.summarised):
                return storm
        return None

    async def _rows(self, team_id: int, since: datetime) -> list[Member]:
        async with self.db.sessions() as session:
            rows = await session.execute(select(Incident.id, Incident.number, Incident.title, Incident.created_at)
                                         .where(Incident.team_id == team_id, Incident.created_at >= since)
                                         .order_by(Incident.created_at, Incident.number))
            return [Member(*row) for row in rows.all()]

    def _touch(self, anchor: int, team_id: int, team: str, where: Where) -> None:
        key = (anchor, where.chat)
        if key in self._tasks:
            self._dirty.add(key)  # the update in flight or waiting shows it
            return
        self._tasks[key] = asyncio.get_running_loop().create_task(self._keep(key, team_id, team, where))

    async def _keep(self, key: tuple[int, str], team_id: int, team: str, where: Where) -> None:
        """Show the summary now, then at most once per ``update_every`` while incidents keep coming."""
        try:
            while True:
                self._dirty.discard(key)
                try:
                    await self._show(key[0], team_id, team, where)
                except Exception:
                    log.exception("%s storm summary of %s failed", self.platform, team)
                await asyncio.sleep(self.rules(team).update_every)
                if key not in self._dirty:
                    return
        finally:
            self._tasks.pop(key, None)

    async def _show(self, anchor: int, team_id: int, team: str, where: Where) -> None:
        async with self.db.sessions() as session:
            first = await session.get(Incident, anchor)
        storm = await self._storm_of(team_id, team, first.created_at, first.number) if first else None
        if storm is None or storm.anchor.id != anchor:
            return
        text = render_storm_text(storm, self.rules(team).window)
        if self._said.get((anchor, where.chat)) == text:
            return  # a sweep catching up with the storm's incidents: nothing new to say
        summary = await self._summary(anchor, where.chat)
        if summary is not None:
            await self._edit(summary, text, team)
            self._said[(anchor, where.chat)] = text
        elif await claims.claim(self.platform, self.db, f"storm:{anchor}:{where.chat}", self.clock.now()):
            await self._post(anchor, where, text, team)
        # else: another process claimed it; it posts, and edits as its own incidents arrive

    async def _summary(self, anchor: int, chat: str) -> Copy | None:
        async with self.db.sessions() as session:
            row = await session.scalar(select(ChatMessageRef).where(
                ChatMessageRef.incident_id == anchor, ChatMessageRef.platform == self.platform,
                ChatMessageRef.kind == KIND, ChatMessageRef.chat_id == chat))
            return Copy(row.chat_id, row.message_id, row.thread_id, KIND) if row else None

    async def _post(self, anchor: int, where: Where, text: str, team: str) -> None:
        try:
            copy = await self.channel.post_text(where, text, marker=f"storm:{anchor}")
        except self.channel.errors as exc:
            log.warning("could not post the storm summary of %s to %s %s: %s", team, self.platform, where.chat, exc)
            await claims.release(self.platform, self.db, f"storm:{anchor}:{where.chat}")
            return
        await copies.add(self.db, self.platform, anchor, Copy(copy.chat, copy.message, copy.thread, KIND),
                         self.clock.now())
        self._said[(anchor, where.chat)] = text

    async def _edit(self, summary: Copy, text: str, team: str) -> None:
        try:
            await self.channel.edit_text(summary, text)
        except self.channel.errors as exc:
            log.warning("could not edit the storm summary of %s in %s %s: %s", team, self.platform, summary.chat, exc)

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
