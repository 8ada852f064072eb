"""Inline button presses: untrusted data, checked, then the same core calls as the commands."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.chat import buttons as shared
from bot.chat.receipts import Receipts
from bot.container import Container
from bot.telegram import store
from bot.telegram.callback import (
    CANCEL_SILENCE,
    SILENCE_CONFIRMS,
    SILENCE_PREVIEWS,
    BadCallback,
    CallbackCodec,
    Press,
)
from bot.telegram.handlers import LINK_HELP, actor_of
from bot.telegram.outbox import Outbox
from bot.telegram.render import escape, render_reply_html, render_silence_confirm_keyboard
from storage.actors import Actor

log = logging.getLogger(__name__)
SILENCE_CONFIRM_ACTIONS = frozenset(SILENCE_CONFIRMS.values())

ANSWER_WITHIN = 0.7  # seconds; Telegram clients spin until the query is answered, so answer inside a second
MAX_ANSWER = 200  # Telegram's limit on answerCallbackQuery text
NOT_THIS_CARD = ("This button does not belong to this card; nothing was changed. "
                 "Use the buttons of the incident's own card.")
#: The alert for an unlinked presser; the instructions themselves (LINK_HELP) are too long for an alert.
LINK_ALERT = ("Your Telegram account is not linked to Tocsin yet, so nothing was changed. "
              "How to link it is in a message from me.")


@dataclass(frozen=True)
class Outcome:
    """What to tell the presser, whether it is a refusal, and whether they still have to link their account."""

    text: str
    refused: bool
    unlinked: bool = False


class Buttons:
    """Answers every press: a short notice on success, an alert when refused or not genuine."""

    def __init__(self, container: Container, outbox: Outbox, codec: CallbackCodec, receipts: Receipts) -> None:
        self.container, self.outbox, self.codec, self.receipts = container, outbox, codec, receipts
        self.answer_within = ANSWER_WITHIN  # past it the presser is told "Working on it" and the outcome later

    def register(self, app: Application) -> None:
        app.add_handler(CallbackQueryHandler(self.handle_button_press))

    async def apply(self, press: Press, actor: Actor, chat_id: int, message_id: int, version: str = "",
                    thread_id: int | None = None) -> Outcome:
        """Run the press through the core (``bot.chat.buttons``), if the pressed message is a copy of that
        incident's card; a repeat of an escalate or snooze on the same ``version`` of it does nothing.

        A silence's Confirm and Cancel sit on its preview, a message of its own: their data is signed for
        this chat and incident like a card's, and the core checks the presser's role as for the command."""
        on_preview = press.action in SILENCE_CONFIRM_ACTIONS or press.action == CANCEL_SILENCE
        if not on_preview and not await store.is_card_copy(self.container.db, press.number, chat_id, message_id):
            return Outcome(NOT_THIS_CARD, True)
        if press.action == CANCEL_SILENCE:
            who = actor.display_name or "someone"
            await self.outbox.edit(chat_id, message_id, escape(f"Not silenced: {who} cancelled the silence of "
                                                               f"#{press.number}."), None)
            return Outcome("Cancelled: nothing was silenced.", False)
        verb = shared.TELEGRAM[press.action]
        key = f"press:{actor.external_id}:{press.action}:{chat_id}:{message_id}:{version}"
        # A repeated acknowledge or resolve is answered by the core ("already acknowledged"): only the
        # verbs that would act twice spend a receipt, inside the answer window (a preview acts on nothing).
        guarded = verb not in shared.IDEMPOTENT and verb != shared.SILENCE_PREVIEW
        if guarded and not await self.receipts.first(key):
            return Outcome(shared.repeated(verb, press.number, await self.receipts.seen_at(key)).text, False)
        reply = await shared.press(self.container, actor, verb, press.number,
                                   shared.TELEGRAM_DURATIONS.get(press.action))
        if reply.error and guarded:
            await self.receipts.forget(key)
        if reply.unlinked:
            return Outcome(LINK_ALERT, True, unlinked=True)
        if reply.error:
            return Outcome(reply.text, True)
        if verb == shared.SILENCE_PREVIEW:  # the preview goes under the card, with its Confirm and Cancel
            choice = next(c for c, action in SILENCE_PREVIEWS.items() if action == press.action)
            await self.outbox.send(chat_id, render_reply_html(reply), thread_id=thread_id, reply_to=message_id,
                                   markup=render_silence_confirm_keyboard(press.number, choice, self.codec, chat_id))
            return Outcome(f"Silence #{press.number} for {choice}? The preview is under the card: confirm it there.",
                           False)
        if verb == shared.SILENCE:  # the preview now says what was done, and offers nothing more
            await self.outbox.edit(chat_id, message_id, render_reply_html(reply), None)
        return Outcome(reply.text, False)

    async def handle_button_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under an incident card was pressed."""
        query = update.callback_query
        message = query.message
        try:
            if message is None:  # an inline-mode message: never one of our cards
                raise BadCallback("This button is not one of Tocsin's.")
            press = self.codec.decode(query.data, message.chat.id)
        except BadCallback as exc:
            log.warning("refused button data from telegram user %s: %s", query.from_user.id, exc)
            await self._answer(query, str(exc), alert=True)
            return
        # When the message was sent and last edited (Telegram's seconds) stand for the card's version: both
        # taps of a double tap carry the same, a press on the card as it was edited since does not.
        version = ":".join(str(int(at.timestamp())) if at else "" for at in (message.date, message.edit_date))
        thread = message.message_thread_id if getattr(message, "is_topic_message", None) else None
        work = asyncio.ensure_future(self.apply(press, actor_of(query.from_user), message.chat.id,
                                                message.message_id, version, thread))
        done, _ = await asyncio.wait({work}, timeout=self.answer_within)
        if work in done:
            outcome = work.result()
            await self._answer(query, outcome.text[:MAX_ANSWER], alert=outcome.refused)
        else:
            await self._answer(query, "Working on it\u2026", alert=False)
            outcome = await work
            if outcome.refused and not outcome.unlinked:
                await self._tell_late(query, outcome.text)
        if outcome.unlinked:
            await self._send_link_help(query)

    async def _answer(self, query: CallbackQuery, text: str, *, alert: bool) -> None:
        """Answer the press; one too old to answer (a late or replayed update) gets a refusal in the chat."""
        try:
            await query.answer(text, show_alert=alert)
        except BadRequest as exc:
            if "query is too old" not in exc.message.lower() and "query id is invalid" not in exc.message.lower():
                raise
            log.info("the press of telegram user %s was too old to answer", query.from_user.id)
            if alert:
                await self._tell_late(query, text)

    async def _send_link_help(self, query: CallbackQuery) -> None:
        """The linking instructions in a private message, or under the card if the bot may not write to them."""
        try:
            await self.outbox.send(query.from_user.id, escape(LINK_HELP), attempts=1)
        except (Forbidden, BadRequest):  # they never opened a chat with the bot, or blocked it
            await self._tell_late(query, LINK_HELP)

    async def _tell_late(self, query: CallbackQuery, text: str) -> None:
        """Say it in the card's chat, as a reply to the card (the answer window has passed, or it is too long)."""
        message = query.message
        if message is None:
            return
        who = escape(query.from_user.full_name)
        await self.outbox.send(message.chat.id, f"{who}: {escape(text)}", reply_to=message.message_id,
                               thread_id=message.message_thread_id if getattr(message, "is_topic_message", None) else None)
