"""Slack: /incident commands, the live incident card, DMs; Socket Mode or HTTP mode."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    if not container.settings.slack_bot_token:
        return Surface.off("slack", "SLACK_BOT_TOKEN not set")
    return Surface.off("slack", "not built yet")
