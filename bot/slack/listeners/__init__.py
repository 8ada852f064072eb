"""Slack listeners: each module registers its handlers with ``register(app, runtime)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import actions, commands, events, views
from bot.slack.runtime import SlackRuntime


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    for module in (commands, actions, views, events):
        module.register(app, runtime)
