"""Slack's side of the live incident card (``bot.chat.cards`` keeps it in sync): the team's channel, Block
Kit, one post per marker (``SlackOut.post`` finds a post whose answer never came), thread lines."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from bot.chat.cards import CardSync
from bot.chat.contract import Copy, Where
from bot.chat.storm import Storms
from bot.config_file import StormConfig
from bot.slack import scopes
from bot.slack.outbound import FAILED, SlackOut, SlackUnavailable
from bot.slack.platform import team_channel
from bot.slack.refs import PLATFORM
from bot.slack.render import render_card, render_change_line
from storage.clock import Clock
from storage.db import Database
from storage.queries import IncidentQueries
from storage.views import IncidentChange, IncidentView


class SlackCards:
    """The ``CardChannel`` of Slack."""

    platform = PLATFORM
    errors = FAILED

    def __init__(self, out: SlackOut) -> None:
        self.out = out

    def home(self, view: IncidentView) -> Where | None:
        channel = team_channel(view.team)
        return Where(channel) if channel else None

    async def post(self, view: IncidentView, where: Where, *, marker: str, uncertain: bool) -> Copy:
        data = await self.out.post(marker, uncertain=uncertain, channel=where.chat, unfurl_links=False,
                                   **render_card(view))
        return Copy(data["channel"], data["ts"])

    async def edit(self, copy: Copy, view: IncidentView) -> None:
        await self.out.call(scopes.UPDATE, channel=copy.chat, ts=copy.message, **render_card(view))

    async def reply(self, card: Copy, change: IncidentChange) -> None:
        await self.out.post(f"line:{uuid4().hex}", channel=card.chat, thread_ts=card.message,
                            text=render_change_line(change), unfurl_links=False)

    async def post_text(self, where: Where, text: str, *, marker: str) -> Copy:
        data = await self.out.post(marker, channel=where.chat, text=text, unfurl_links=False)
        return Copy(data["channel"], data["ts"])

    async def edit_text(self, copy: Copy, text: str) -> None:
        await self.out.call(scopes.UPDATE, channel=copy.chat, ts=copy.message, text=text)

    def retry_later(self, exc: Exception) -> bool:
        return isinstance(exc, SlackUnavailable)


def card_sync(out: SlackOut, db: Database, queries: IncidentQueries, clock: Clock,
              rules: Callable[[str], StormConfig] | None = None) -> CardSync:
    channel = SlackCards(out)
    return CardSync(channel, db, queries, clock, Storms(channel, db, clock, rules) if rules else None)
