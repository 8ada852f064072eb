"""The terminal's side of the live incident card (``bot.chat.cards`` keeps it in sync).

A terminal cannot edit what it printed: a post prints the card, an edit prints it again as it is now.
Each shell session is its own chat (``ShellCards.chat``), so that two terminals each see every card and
their copies and claims never meet; the session forgets them when it ends (``forget``).
"""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Protocol

from sqlalchemy import delete

from bot.chat.contract import Copy, Where
from bot.shell import render
from bot.shell.platform import NAME
from storage.db import Database
from storage.directory import Readable
from storage.models import ChatMessageRef, InboundReceipt
from storage.ports import Page
from storage.states import Status
from storage.views import IncidentChange, IncidentView

PLATFORM = NAME
#: A write that may succeed later (a blocked terminal); anything else (a closed one) refuses the card.
RETRY_LATER = (BlockingIOError, InterruptedError, TimeoutError)


class Sink(Protocol):
    """Where a session prints: above the line being typed (``bot.shell.terminal``), or a test's capture."""

    async def show(self, text: str, *, kind: str) -> None:
        """Print ``text``; ``kind`` is "card", "edit", "line", "reply" or "page". Raises ``OSError``."""


class ShellCards:
    """The ``CardChannel`` of one shell session: the cards of incidents its person may read."""

    platform = PLATFORM
    errors = (OSError,)

    def __init__(self, sink: Sink, chat: str, readable: Readable) -> None:
        self.sink, self.chat, self.readable = sink, chat, readable
        self.last_actions: tuple[str, ...] = ()  # of the card printed last: what "1", "2", ... run
        self._messages = count(1)
        self._shown: dict[str, str] = {}  # message -> the card as last printed

    def sees(self, view: IncidentView) -> bool:
        teams = self.readable.teams
        return teams is None or (view.team.id if view.team else None) in teams

    def home(self, view: IncidentView) -> Where | None:
        """This session, for incidents of teams where its person holds a role (every one for an admin)."""
        return Where(self.chat) if self.sees(view) else None

    async def post(self, view: IncidentView, where: Where, *, marker: str, uncertain: bool) -> Copy:
        """A terminal has no history to search: an uncertain post is printed again."""
        message = f"{view.number}:{next(self._messages)}"
        await self.print_card(view, "new incident" if view.status is Status.OPEN else "incident")
        self._shown[message] = render.render_card_text(view)
        return Copy(where.chat, message)

    async def edit(self, copy: Copy, view: IncidentView) -> None:
        """Print the card again, unless it would read as printed last (a note changes no line of it)."""
        text = render.render_card_text(view)
        if self._shown.get(copy.message) != text:
            await self.print_card(view, "updated", kind="edit")
            self._shown[copy.message] = text

    async def reply(self, card: Copy, change: IncidentChange) -> None:
        """Say what the reprinted card will not: the text of a note, a resolution or a cancellation."""
        if change.text:
            await self.sink.show(render.render_change_line(change), kind="line")

    def retry_later(self, exc: Exception) -> bool:
        return isinstance(exc, RETRY_LATER)

    async def print_card(self, view: IncidentView, heading: str = "incident", *, kind: str = "card") -> None:
        """Print the card once; its numbered actions are what a bare number runs from now on."""
        await self.sink.show(render.render_card_text(view, heading), kind=kind)
        self.last_actions = render.card_actions(view)

    async def print_page(self, page: Page) -> None:
        """A page prints with the card's actions (numbered like a card's); a notice as one line."""
        if page.kind == "page":
            await self.sink.show(render.render_page_text(page), kind="page")
            self.last_actions = render.card_actions(page.incident)
        else:
            await self.sink.show(render.render_notice_text(page), kind="notice")

    async def forget(self, db: Database) -> None:
        """Drop this session's card copies and post claims (the session ends)."""
        async with db.transaction() as session:
            await session.execute(delete(ChatMessageRef).where(
                ChatMessageRef.platform == PLATFORM, ChatMessageRef.chat_id == self.chat))
            await session.execute(delete(InboundReceipt).where(
                InboundReceipt.source == PLATFORM, InboundReceipt.key.like(f"card:%:{self.chat}")))


async def forget_stale(db: Database, before: datetime) -> None:
    """Drop card copies left by sessions that could not clean up (killed), older than ``before``; their
    post claims go with every claim, by housekeeping's retention. A live session older than that prints
    its cards again at their next change."""
    async with db.transaction() as session:
        await session.execute(delete(ChatMessageRef).where(
            ChatMessageRef.platform == PLATFORM, ChatMessageRef.created_at < before))
