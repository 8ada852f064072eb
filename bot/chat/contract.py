"""What a chat platform provides for its incident cards; everything else is shared (``bot.chat.cards``).

One implementation per platform, as grafana/oncall's representatives: Slack in ``bot.slack.cards``,
Telegram in ``bot.telegram.cards``. Chats and messages are strings here; each platform converts its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.surface import Surface
from storage.ports import ChangeObserver, Sender
from storage.views import IncidentChange, IncidentView


@dataclass(frozen=True)
class Where:
    """A place a card can be posted: a chat, maybe a thread or topic in it, maybe as a reply to a message."""

    chat: str
    thread: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class Copy:
    """A posted message that shows an incident's live card (``kind`` "card", or "page" for a DM page)."""

    chat: str
    message: str
    thread: str | None = None
    kind: str = "card"


class CardChannel(Protocol):
    """A platform's side of the card: where it goes, how it is sent and rendered, what its errors mean."""

    platform: str
    #: The exceptions a call to the platform may raise (logged; never break the caller).
    errors: tuple[type[Exception], ...]

    def home(self, view: IncidentView) -> Where | None:
        """Where the incident's card belongs (its team's channel or group), if anywhere."""

    async def post(self, view: IncidentView, where: Where, *, marker: str, uncertain: bool) -> Copy:
        """Post the card; ``uncertain``: an earlier attempt tagged ``marker`` may have posted it already."""

    async def edit(self, copy: Copy, view: IncidentView) -> None:
        """Make the copy show the card as ``view`` is now."""

    async def reply(self, card: Copy, change: IncidentChange) -> None:
        """Say the change in the card's thread (or nothing, where the platform has no threads)."""

    async def post_text(self, where: Where, text: str, *, marker: str) -> Copy:
        """Post a plain message without buttons (a storm's summary: ``bot.chat.storm``)."""

    async def edit_text(self, copy: Copy, text: str) -> None:
        """Make a message posted by ``post_text`` say ``text``."""

    def retry_later(self, exc: Exception) -> bool:
        """True: the platform is out of reach for now (the sweep tries again); False: it refused this card."""


@dataclass
class Platform:
    """What a chat platform gives the composition root (``bot.bootstrap``), which wires it in: its card sync
    is told of every committed change, its sender pages people, its surface is served and started."""

    name: str  # "slack": the escalation channel, the inbound platform and the card-copy key
    surface: Surface  # its routes, its components (connection, sweeper...), its banner line
    cards: ChangeObserver  # the card sync (``bot.chat.cards.CardSync``) over its ``CardChannel``
    sender: Sender  # pages and notices to its people and chats
