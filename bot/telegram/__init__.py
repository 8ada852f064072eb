"""Telegram: commands, inline buttons, DMs; long polling or webhook mode."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    if not container.settings.telegram_bot_token:
        return Surface.off("telegram", "TELEGRAM_BOT_TOKEN not set")
    return Surface.off("telegram", "not built yet")
