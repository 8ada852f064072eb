"""Inline button presses: untrusted data, checked, then the same core calls as the commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import CallbackQuery, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.container import Container
from bot.telegram.callback import ACK, ESCALATE, RESOLVE, SNOOZE, BadCallback, CallbackCodec, Press
from bot.telegram.handlers import LINK_HELP, actor_of
from bot.telegram.outbox import Outbox
from bot.telegram.render import escape
from storage.actors import Actor
from storage.errors import TocsinError, UnknownActor
from storage.views import ActionResult

log = logging.getLogger(__name__)

ANSWER_WITHIN = 0.7  # seconds; Telegram clients spin until the query is answered, so answer inside a second
MAX_ANSWER = 200  # Telegram's limit on answerCallbackQuery text
SNOOZE_FOR = timedelta(hours=1)


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


class Buttons:
    """Answers every press: a short notice on success, an alert when refused or not genuine."""

    def __init__(self, container: Container, outbox: Outbox, codec: CallbackCodec) -> None:
        self.container, self.outbox, self.codec = container, outbox, codec

    def register(self, app: Application) -> None:
        app.add_handler(CallbackQueryHandler(self.handle_button_press))

    def _action(self, press: Press, actor: Actor) -> Callable[[], Awaitable[ActionResult]]:
        incidents, number = self.container.incidents, press.number
        return {
            ACK: lambda: incidents.acknowledge(number, actor),
            RESOLVE: lambda: incidents.resolve(number, actor),
            ESCALATE: lambda: incidents.escalate(number, actor),
            SNOOZE: lambda: incidents.snooze(number, actor, SNOOZE_FOR),
        }[press.action]

    async def apply(self, press: Press, actor: Actor) -> tuple[str, bool]:
        """Run the press through the core. Returns (what to tell the presser, whether it is a refusal)."""
        try:
            result = await self._action(press, actor)()
        except UnknownActor:
            return LINK_HELP, True
        except TocsinError as exc:
            return _sentence(str(exc)), True
        return _sentence(result.message), False

    async def handle_button_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under an incident card was pressed."""
        query = update.callback_query
        try:
            press = self.codec.decode(query.data)
        except BadCallback as exc:
            log.warning("refused button data from telegram user %s: %s", query.from_user.id, exc)
            await query.answer(str(exc), show_alert=True)
            return
        work = asyncio.ensure_future(self.apply(press, actor_of(query.from_user)))
        done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
        if work in done:
            text, refused = work.result()
            await query.answer(text[:MAX_ANSWER], show_alert=refused)
            return
        await query.answer("Working on it\u2026")
        text, refused = await work
        if refused:
            await self._tell_late(query, text)

    async def _tell_late(self, query: CallbackQuery, text: str) -> None:
        """The answer window has passed: say the refusal in the chat instead, so it is not lost."""
        message = query.message
        if message is None:
            return
        who = escape(query.from_user.full_name)
        await self.outbox.send(message.chat.id, f"{who}: {escape(text)}", reply_to=message.message_id,
                               thread_id=message.message_thread_id if getattr(message, "is_topic_message", None) else None)
