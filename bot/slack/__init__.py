"""Slack: /incident commands, the live incident card, DMs; Socket Mode or HTTP mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.chat.contract import Platform
from bot.container import Container
from bot.settings import Settings
from bot.surface import Surface

if TYPE_CHECKING:
    from bot.slack.inbound import SlackReplays
    from bot.slack.runtime import SlackRuntime


def refusal(settings: Settings) -> str | None:
    """Why Slack stays off with these settings, or None."""
    token = settings.slack_bot_token
    if not token:
        return "SLACK_BOT_TOKEN not set"
    if not token.startswith("xoxb-"):
        return "SLACK_BOT_TOKEN must be a bot token (xoxb-...)"
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        return "SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write"
    if not settings.slack_app_token and not settings.slack_signing_secret:
        return "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"
    return None


@dataclass
class SlackPlatform(Platform):
    runtime: SlackRuntime | None = None
    replays: SlackReplays | None = None


def make_platform(container: Container) -> SlackPlatform | Surface:
    """Slack's runtime, sender, connection (HTTP or Socket Mode), card sweeper and replays; or why it is off.
    ``container``'s core (database, bus, incidents, queries) must be built."""
    settings = container.settings
    why = refusal(settings)
    if why:
        return Surface.off("slack", why)

    from bot.slack.app import EVENTS_PATH, SlackConnection, build, route
    from bot.slack.inbound import SlackReplays
    from bot.slack.sender import SlackSender
    from bot.sweep import CardSweeper

    app, runtime = build(container)
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP mode at POST {EVENTS_PATH}"
    surface = Surface("slack", f"on ({mode})")
    replays = SlackReplays(app, container)
    surface.components += [SlackConnection(app, runtime, surface, settings.slack_app_token),
                           CardSweeper(runtime.cards, container.db, name="slack card"), replays]
    if not settings.slack_app_token:
        surface.routes.append(route(app))
    return SlackPlatform("slack", surface, runtime.cards, SlackSender(runtime.out, container.db, container.clock),
                         runtime=runtime, replays=replays)
