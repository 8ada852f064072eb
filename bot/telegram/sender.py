"""The outbound port for Telegram: escalation pages as direct messages (or group posts) with the card's buttons."""

from __future__ import annotations

import logging

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.container import Container
from bot.telegram import store
from bot.telegram.callback import CallbackCodec
from bot.telegram.outbox import Outbox, retry_seconds
from bot.telegram.render import render_card_keyboard, render_page_html
from storage.ports import Delivery, DeliveryError, Destination, Page

log = logging.getLogger(__name__)


class TelegramSender:
    """``container.senders["telegram"]``: paced, retried on 429, and remembered so later changes edit it."""

    channel = "telegram"

    def __init__(self, container: Container, outbox: Outbox, codec: CallbackCodec) -> None:
        self.container, self.outbox, self.codec = container, outbox, codec

    async def send(self, destination: Destination, page: Page) -> Delivery:
        try:
            chat_id = int(destination.address)
        except ValueError:
            raise DeliveryError(f"{destination.address!r} is not a Telegram chat id", permanent=True) from None
        try:
            message = await self.outbox.send(chat_id, render_page_html(page), thread_id=destination.topic,
                                             markup=render_card_keyboard(page.incident, self.codec))
        except RetryAfter as exc:
            raise DeliveryError("telegram flood control", retry_after=retry_seconds(exc)) from exc
        except Forbidden as exc:  # the person blocked the bot or never started it; retrying cannot help
            raise DeliveryError(f"telegram refused: {exc.message}", permanent=True) from exc
        except BadRequest as exc:
            raise DeliveryError(f"telegram refused: {exc.message}", permanent=True) from exc
        except (NetworkError, TelegramError) as exc:
            raise DeliveryError(f"telegram unreachable: {exc.message}") from exc
        await store.save_ref(self.container.db, page.incident.id, chat_id, message.message_id,
                             self.container.clock.now(), thread_id=destination.topic, kind=page.kind,
                             person_id=destination.person_id)
        return Delivery(str(message.message_id), thread=str(chat_id))
