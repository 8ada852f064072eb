"""Every message and edit the bot sends goes through here: paced, and retried after a 429."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter

from escalation.pacing import Limit, RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Telegram's limits: about 1 message per second per chat, 20 per minute per group, 30 per second overall.
TELEGRAM_LIMITS = (Limit("chat:", 1, 1.0), Limit("group:", 20, 60.0), Limit("all", 30, 1.0))
MAX_ATTEMPTS = 5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 deprecates the int form; both are seconds
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_not_modified(exc: BadRequest) -> bool:
    return "message is not modified" in exc.message.lower()


class Outbox:
    """Paced sends. Each chat has its own keys, so one busy chat never holds up the others."""

    def __init__(self, bot: Bot, limits: Sequence[Limit] = TELEGRAM_LIMITS, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.bot = bot
        self.max_attempts = max_attempts
        # One limiter for every chat: it forgets idle chats, where one limiter per chat kept every stranger's.
        self._chats = RateLimiter([lim for lim in limits if lim.scope != "all"])
        self._overall = RateLimiter([lim for lim in limits if lim.scope == "all"])

    async def call(self, chat_id: int, request: Callable[[], Awaitable[T]], attempts: int | None = None) -> T:
        """Run ``request`` when the chat's and the overall limits allow; wait out 429s and retry."""
        keys = [f"chat:{chat_id}"] + ([f"group:{chat_id}"] if chat_id < 0 else [])
        limiter = self._chats
        attempts = attempts or self.max_attempts
        for attempt in range(1, attempts + 1):
            await limiter.acquire(*keys)
            await self._overall.acquire("all")
            try:
                return await request()
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                limiter.block(f"chat:{chat_id}", seconds)
                if attempt == attempts:
                    raise
                log.warning("telegram asked to wait %.0fs before the next call to chat %s (attempt %d)",
                            seconds, chat_id, attempt)
        raise AssertionError("unreachable")

    async def send(self, chat_id: int, text: str, *, thread_id: int | None = None,
                   markup: InlineKeyboardMarkup | None = None, reply_to: int | None = None,
                   attempts: int | None = None) -> Message:
        """Send an HTML message (into a forum topic when ``thread_id`` is given)."""
        return await self.call(chat_id, lambda: self.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, message_thread_id=thread_id, reply_markup=markup,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
            link_preview_options=NO_PREVIEW,
        ), attempts)

    async def edit(self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        """Edit a message in place; False when it already showed exactly this."""
        try:
            await self.call(chat_id, lambda: self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            ))
        except BadRequest as exc:
            if is_not_modified(exc):
                return False
            raise
        return True
