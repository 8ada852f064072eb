"""The outbound port for Telegram: escalation pages as direct messages (or group posts) with the card's buttons."""

from __future__ import annotations

import logging

from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.container import Container
from bot.telegram import store
from bot.telegram.callback import CallbackCodec
from bot.telegram.outbox import Outbox, retry_seconds
from bot.telegram.render import render_card_keyboard, render_notice_html, render_page_html
from storage.ports import Delivery, DeliveryError, Destination, Page

log = logging.getLogger(__name__)


class TelegramSender:
    """``container.senders["telegram"]``. One attempt per call (the escalation dispatcher schedules retries):
    a 429 raises ``DeliveryError(retry_after=...)``, a blocked bot or an unknown chat a permanent one.

    A page outside a thread carries the live card with its buttons and is recorded, so that later changes
    edit this copy too. A notice with ``destination.thread`` replies to the page it follows.
    """

    channel = "telegram"
    #: One send is one request with python-telegram-bot's default timeouts (the app sets none of its own):
    #: connect 5 + write 5 + read 5 + pool 1 seconds.
    timeout = 16.0

    def __init__(self, container: Container, outbox: Outbox, codec: CallbackCodec) -> None:
        self.container, self.outbox, self.codec = container, outbox, codec

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Deliver ``page`` to a Telegram user (a DM: the chat id is the user id) or a group, maybe a topic."""
        chat_id = _number(destination.address, "chat id")
        reply_to = _number(destination.thread, "message id") if destination.thread else None
        topic = _number(str(destination.topic), "topic id") if destination.topic is not None else None
        with_card = reply_to is None and page.kind == "page" and page.incident.is_open
        markup = render_card_keyboard(page.incident, self.codec, chat_id) if with_card else None
        text = render_page_html(page) if with_card else render_notice_html(page)
        try:
            message = await self.outbox.send(chat_id, text, thread_id=topic, markup=markup,
                                             reply_to=reply_to, attempts=1)
        except RetryAfter as exc:
            raise DeliveryError("telegram flood control", retry_after=retry_seconds(exc)) from exc
        except Forbidden as exc:  # the person blocked the bot or never started it; retrying cannot help
            raise DeliveryError(f"telegram refused: {exc.message}", permanent=True) from exc
        except BadRequest as exc:  # chat not found, bad topic: the address is wrong
            raise DeliveryError(f"telegram refused: {exc.message}", permanent=True) from exc
        except TelegramError as exc:  # network errors, timeouts, 5xx
            raise DeliveryError(f"telegram unreachable: {exc.message}") from exc
        if with_card:
            await store.save_ref(self.container.db, page.incident.id, chat_id, message.message_id,
                                 self.container.clock.now(), thread_id=topic, kind="page",
                                 person_id=destination.person_id)
        return Delivery(str(message.message_id), thread=destination.thread or str(message.message_id))


def _number(value: str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DeliveryError(f"{value!r} is not a Telegram {what}", permanent=True) from None
