"""Telegram: commands, inline buttons, DMs; long polling or webhook mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.chat.contract import Platform
from bot.container import Container
from bot.surface import Surface
from escalation.pacing import Limit

if TYPE_CHECKING:
    from bot.telegram.app import TelegramRuntime


@dataclass
class TelegramPlatform(Platform):
    runtime: TelegramRuntime | None = None


def make_platform(container: Container, *, limits: Sequence[Limit] | None = None,
             poll_timeout: float = 10.0) -> TelegramPlatform | Surface:
    """The Telegram bot (its runtime is its connection; its surface has the webhook route and sweeper), if a
    token is configured; ``limits``: the Bot API's, unless given (tests)."""
    if not container.settings.telegram_bot_token:
        return Surface.off("telegram", "TELEGRAM_BOT_TOKEN not set")
    from bot.telegram.app import TelegramRuntime  # PTB is only imported when Telegram is on
    from bot.telegram.outbox import TELEGRAM_LIMITS

    limits = tuple(limits or TELEGRAM_LIMITS)
    runtime = TelegramRuntime(container, limits=limits, poll_timeout=poll_timeout)
    return TelegramPlatform("telegram", runtime.surface(), runtime.cards, runtime.sender, runtime=runtime)
