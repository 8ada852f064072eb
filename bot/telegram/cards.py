"""Incident cards in Telegram: posted to the team's chat when declared, edited in place after every change."""

from __future__ import annotations

import logging

from telegram.error import BadRequest, TelegramError

from bot.container import Container
from bot.pacing import Coalescer
from bot.telegram import store
from bot.telegram.callback import CallbackCodec
from bot.telegram.outbox import Outbox
from bot.telegram.render import render_card_html, render_card_keyboard
from storage.views import IncidentChange, IncidentView

log = logging.getLogger(__name__)


class CardSync:
    """A ChangeObserver. Changes to one incident are serialised and coalesced; each run renders the latest state."""

    def __init__(self, container: Container, outbox: Outbox, codec: CallbackCodec,
                 coalescer: Coalescer | None = None) -> None:
        self.container, self.outbox, self.codec = container, outbox, codec
        self.coalescer = coalescer or Coalescer()
        self._to_post: set[int] = set()

    async def incident_changed(self, change: IncidentChange) -> None:
        incident = change.incident
        if change.kind == "declared":
            self._to_post.add(incident.id)
        self.coalescer.submit(f"telegram:card:{incident.id}", lambda: self.sync(incident.number, incident.id))

    async def sync(self, number: int, incident_id: int) -> None:
        """Post the card if it is new, then make every stored copy show the incident as it is now."""
        view = await self.container.queries.get(number)
        posted = None
        if incident_id in self._to_post:
            self._to_post.discard(incident_id)
            posted = await self.post(view)
        for ref in await store.card_refs(self.container.db, view.id):
            if (ref.chat_id, ref.message_id) != posted:
                await self.edit(ref, view)

    async def post(self, view: IncidentView) -> tuple[int, int] | None:
        """Post the card to the team's group (and forum topic)."""
        team = view.team
        if team is None or team.telegram_chat_id is None:
            return None
        return await self.post_to(view, team.telegram_chat_id, team.telegram_topic_id)

    async def post_to(self, view: IncidentView, chat_id: int, thread_id: int | None = None,
                      reply_to: int | None = None) -> tuple[int, int] | None:
        """Post a live copy of the card and remember it, so that every later change edits it too."""
        try:
            message = await self.outbox.send(chat_id, render_card_html(view), thread_id=thread_id,
                                             markup=render_card_keyboard(view, self.codec), reply_to=reply_to)
        except TelegramError as exc:
            log.error("could not post the card of %s to telegram chat %s: %s", view.ref, chat_id, exc)
            return None
        await store.save_ref(self.container.db, view.id, message.chat_id, message.message_id,
                             self.container.clock.now(), thread_id=thread_id)
        return message.chat_id, message.message_id

    async def edit(self, ref: store.CardRef, view: IncidentView) -> None:
        try:
            await self.outbox.edit(ref.chat_id, ref.message_id, render_card_html(view),
                                   render_card_keyboard(view, self.codec))
        except BadRequest as exc:
            log.warning("could not edit the card of %s in telegram chat %s: %s", view.ref, ref.chat_id, exc)
        except TelegramError as exc:
            log.error("could not edit the card of %s in telegram chat %s: %s", view.ref, ref.chat_id, exc)

    async def drain(self) -> None:
        await self.coalescer.drain()
