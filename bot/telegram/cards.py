"""Telegram's side of the live incident card (``bot.chat.cards`` keeps it in sync): the team's group (and
forum topic), HTML with buttons bound to the chat, no thread lines."""

from __future__ import annotations

import html

from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.chat.cards import CardSync
from bot.chat.contract import Copy, Where
from bot.chat.storm import Storms
from bot.container import Container
from bot.telegram.callback import CallbackCodec
from bot.telegram.outbox import Outbox
from bot.telegram.render import render_card_html, render_card_keyboard
from bot.telegram.store import PLATFORM
from storage.views import IncidentChange, IncidentView


def _int(value: str | None) -> int | None:
    return int(value) if value else None


class TelegramCards:
    """The ``CardChannel`` of Telegram."""

    platform = PLATFORM
    errors = (TelegramError,)

    def __init__(self, outbox: Outbox, codec: CallbackCodec) -> None:
        self.outbox, self.codec = outbox, codec

    def home(self, view: IncidentView) -> Where | None:
        room = view.team.room(PLATFORM) if view.team else None
        return Where(room.chat, room.thread) if room is not None else None

    async def post(self, view: IncidentView, where: Where, *, marker: str, uncertain: bool) -> Copy:
        """Telegram cannot be asked whether a post went through: an uncertain one is posted again."""
        chat = int(where.chat)
        message = await self.outbox.send(chat, render_card_html(view), thread_id=_int(where.thread),
                                         markup=render_card_keyboard(view, self.codec, chat),
                                         reply_to=_int(where.reply_to))
        return Copy(str(message.chat_id), str(message.message_id), where.thread)

    async def edit(self, copy: Copy, view: IncidentView) -> None:
        chat = int(copy.chat)
        await self.outbox.edit(chat, int(copy.message), render_card_html(view),
                               render_card_keyboard(view, self.codec, chat))

    async def reply(self, card: Copy, change: IncidentChange) -> None:
        """The card's own lines say what happened; Telegram gets no timeline in a thread."""

    async def post_text(self, where: Where, text: str, *, marker: str) -> Copy:
        message = await self.outbox.send(int(where.chat), html.escape(text), thread_id=_int(where.thread))
        return Copy(str(message.chat_id), str(message.message_id), where.thread)

    async def edit_text(self, copy: Copy, text: str) -> None:
        await self.outbox.edit(int(copy.chat), int(copy.message), html.escape(text), None)

    def retry_later(self, exc: Exception) -> bool:
        return isinstance(exc, (NetworkError, RetryAfter)) and not isinstance(exc, BadRequest)


def card_sync(container: Container, outbox: Outbox, codec: CallbackCodec) -> CardSync:
    channel = TelegramCards(outbox, codec)
    storms = Storms(channel, container.db, container.clock, lambda team: container.config.storm_rule(team))
    return CardSync(channel, container.db, container.queries, container.clock, storms)
