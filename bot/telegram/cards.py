"""Incident cards in Telegram: posted to the team's chat when declared, edited in place after every change,
including changes made by other processes (``sweep``)."""

from __future__ import annotations

import logging
from functools import partial

from telegram.error import BadRequest, TelegramError

from bot.container import Container
from bot.pacing import Coalescer
from bot.sweep import Mark, changed_since
from bot.telegram import store
from bot.telegram.callback import CallbackCodec
from bot.telegram.outbox import Outbox
from bot.telegram.render import render_card_html, render_card_keyboard
from storage.views import IncidentChange, IncidentView, version

log = logging.getLogger(__name__)


class CardSync:
    """A ChangeObserver. Changes to one incident are serialised and coalesced; each run renders the latest state."""

    def __init__(self, container: Container, outbox: Outbox, codec: CallbackCodec,
                 coalescer: Coalescer | None = None) -> None:
        self.container, self.outbox, self.codec = container, outbox, codec
        self.coalescer = coalescer or Coalescer()
        self._to_post: set[int] = set()  # incident numbers declared in this process
        self._changed: set[int] = set()  # incident numbers this process's bus reported changed
        self._shown: dict[int, str] = {}  # incident number -> version its copies show
        self._unpostable: set[tuple[int, str]] = set()

    async def incident_changed(self, change: IncidentChange) -> None:
        number = change.incident.number
        if change.kind == "declared":
            self._to_post.add(number)
        self._changed.add(number)
        self._submit(number)

    async def sweep(self, since: Mark) -> Mark:
        """Catch up with changes made by other processes (e.g. webhooks taken by ``tocsin sidecar``), which
        this process's change bus never sees: post missing cards, refresh stale ones. Returns the new mark."""
        rows = await changed_since(self.container.db, since)
        for number, _ in rows:
            self._submit(number)
        return rows[-1][1] if rows else since

    def _submit(self, number: int) -> None:
        # One job per incident for the bus and the sweep alike: they can never post or edit concurrently.
        self.coalescer.submit(f"telegram:card:{number}", partial(self.sync, number))

    async def sync(self, number: int) -> None:
        """Post the team's card if it is missing, then make every copy show the incident as it is now."""
        declared, changed = number in self._to_post, number in self._changed
        self._to_post.discard(number)
        self._changed.discard(number)
        view = await self.container.queries.get(number)
        refs = await store.card_refs(self.container.db, view.id)
        if declared or view.is_open:
            await self._post_missing(view, refs)
        if not changed and self._shown.get(number) == version(view):
            return  # a sweep found nothing new: Telegram would answer "message is not modified"
        self._shown[number] = version(view)
        for ref in refs:
            await self.edit(ref, view)

    async def _post_missing(self, view: IncidentView, refs: list[store.CardRef]) -> None:
        """Post the team's card unless it is there, another replica posts it, or it failed at this version."""
        chat = view.team.telegram_chat_id if view.team else None
        if chat is None or any(r.chat_id == chat and r.kind == "card" for r in refs):
            return
        if (view.number, version(view)) in self._unpostable:
            return
        claim = f"card:{view.id}:{chat}"
        if not await store.first_receipt(self.container.db, claim, self.container.clock.now()):
            return
        if await self.post(view) is None:
            self._unpostable.add((view.number, version(view)))
            await store.forget_receipt(self.container.db, claim)  # a later change may try again
        else:
            self._shown[view.number] = version(view)

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
                                             markup=render_card_keyboard(view, self.codec, chat_id), reply_to=reply_to)
        except TelegramError as exc:
            log.error("could not post the card of %s to telegram chat %s: %s", view.ref, chat_id, exc)
            return None
        await store.save_ref(self.container.db, view.id, message.chat_id, message.message_id,
                             self.container.clock.now(), thread_id=thread_id)
        return message.chat_id, message.message_id

    async def edit(self, ref: store.CardRef, view: IncidentView) -> None:
        try:
            await self.outbox.edit(ref.chat_id, ref.message_id, render_card_html(view),
                                   render_card_keyboard(view, self.codec, ref.chat_id))
        except BadRequest as exc:
            log.warning("could not edit the card of %s in telegram chat %s: %s", view.ref, ref.chat_id, exc)
        except TelegramError as exc:
            log.error("could not edit the card of %s in telegram chat %s: %s", view.ref, ref.chat_id, exc)

    async def drain(self) -> None:
        await self.coalescer.drain()
