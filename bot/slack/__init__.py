"""Slack: /incident commands, the live incident card, DMs; Socket Mode or HTTP mode."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    """Wire Slack in: the card syncer on the change bus, the DM sender, and HTTP or Socket Mode."""
    settings = container.settings
    token = settings.slack_bot_token
    if not token:
        return Surface.off("slack", "SLACK_BOT_TOKEN not set")
    if not token.startswith("xoxb-"):
        return Surface.off("slack", "SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        return Surface.off("slack", "SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write")
    if not settings.slack_app_token and not settings.slack_signing_secret:
        return Surface.off("slack", "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")

    from bot.slack.app import EVENTS_PATH, SlackConnection, build, route
    from bot.slack.inbound import SlackReplays
    from bot.slack.sender import SlackSender
    from bot.sweep import CardSweeper

    app, runtime = build(container)
    container.bus.subscribe(runtime.cards)
    container.senders["slack"] = SlackSender(runtime.out, container.db, container.clock)
    container.extras["slack"] = runtime
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP mode at POST {EVENTS_PATH}"
    surface = Surface("slack", f"on ({mode})")
    surface.components.append(SlackConnection(app, runtime, surface, settings.slack_app_token))
    surface.components.append(CardSweeper(runtime.cards, container.db, name="slack card"))
    surface.components.append(replays := SlackReplays(app, container))
    container.extras["slack_replays"] = replays
    if not settings.slack_app_token:
        surface.routes.append(route(app))
    return surface
