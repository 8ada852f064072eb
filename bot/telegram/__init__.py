"""Telegram: commands, inline buttons, DMs; long polling or webhook mode."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    """Wire the Telegram bot into the process, if a token is configured."""
    if not container.settings.telegram_bot_token:
        return Surface.off("telegram", "TELEGRAM_BOT_TOKEN not set")
    from bot.telegram.app import TelegramRuntime  # PTB is only imported when Telegram is on

    return TelegramRuntime(container).surface()
