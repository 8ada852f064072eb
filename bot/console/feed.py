"""Live cards: every change, from this process (the change bus) or another (the shared catch-up sweep),
goes to each open event stream whose person may read the incident: a board's stream gets the card's HTML,
an incident page's stream the incident's number (the page then reads its changed parts itself)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from bot.console.render import render_card_html
from bot.sweep import changed_since
from storage.clock import Clock
from storage.db import Database
from storage.directory import Readable
from storage.queries import IncidentQueries
from storage.views import IncidentChange, IncidentView, version

#: Cards a stream may have waiting; a browser that falls further behind is told to reload.
BACKLOG = 200


@dataclass(eq=False)
class Stream:
    """One open event stream: whose (what they may read, their forms' CSRF token), the incident its page
    shows (``None``: the board's), and its waiting events (cards, or the page's incident number)."""

    readable: Readable
    csrf: str
    incident: int | None = None
    cards: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(BACKLOG))

    @property
    def event(self) -> str:
        """The name of the events it sends."""
        return "card" if self.incident is None else "incident"

    def sees(self, view: IncidentView) -> bool:
        teams = self.readable.teams
        return teams is None or (view.team.id if view.team else None) in teams


class Feed:
    """A ``ChangeObserver`` and the sweep's ``Sweeps``: pushes changed cards to the open streams."""

    def __init__(self, db: Database, queries: IncidentQueries, clock: Clock) -> None:
        self.db, self.queries, self.clock = db, queries, clock
        self._streams: set[Stream] = set()
        self._sent: dict[int, str] = {}  # incident number -> version last pushed

    @contextlib.contextmanager
    def open(self, readable: Readable, csrf: str, incident: int | None = None) -> Iterator[Stream]:
        """A stream of the cards ``readable`` may see (or of the changes of ``incident``, for its page), for
        as long as the block runs."""
        stream = Stream(readable, csrf, incident)
        self._streams.add(stream)
        try:
            yield stream
        finally:
            self._streams.discard(stream)

    async def incident_changed(self, change: IncidentChange) -> None:
        self.publish(change.incident, changed=True)

    async def sweep(self, since: datetime | None) -> datetime | None:
        """Push the incidents other processes changed since ``since``; the new mark."""
        rows = await changed_since(self.db, since)
        if not self._streams:
            self._sent.clear()  # no board open: a board opened later reads every card afresh
        for number, _ in rows if self._streams else ():
            self.publish(await self.queries.get(number))
        return rows[-1][1] if rows else since

    def publish(self, view: IncidentView, changed: bool = False) -> None:
        """Push the card to every board that may see it, once per version; tell the incident's open pages
        (also of a change the version does not show, as a note within the same millisecond: ``changed``)."""
        shown = version(view)
        new = self._sent.get(view.number) != shown
        self._sent[view.number] = shown
        if view.status.is_final:
            del self._sent[view.number]  # a closed card leaves the board; nothing more to compare with
        for stream in list(self._streams):
            if not stream.sees(view):
                continue
            if stream.incident is None and new:
                self._send(stream, render_card_html(view, stream.csrf, self.clock.now()))
            elif stream.incident == view.number and (new or changed):
                self._send(stream, str(view.number))

    def _send(self, stream: Stream, card: str) -> None:
        try:
            stream.cards.put_nowait(card)
        except asyncio.QueueFull:
            self._streams.discard(stream)
            stream.cards.get_nowait()  # room for the end-of-stream mark: the browser reloads the board
            stream.cards.put_nowait(None)
