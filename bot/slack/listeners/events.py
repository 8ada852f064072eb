"""``@Tocsin ack 42`` in a channel or thread: the same grammar as ``/incident``, answered in the thread.

The Events API retries a delivery it thinks failed (``X-Slack-Retry-Num``); the event id is claimed
once, so a retry changes nothing twice.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.commands.execute import run_text
from bot.commands.reply import Reply
from bot.slack import scopes
from bot.slack.identity import request_team
from bot.slack.listeners.commands import FOREIGN
from bot.slack.outbound import FAILED
from bot.slack.render import render_reply
from bot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)
LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>\s*")


async def handle_app_mention(body: dict[str, Any], event: dict[str, Any], runtime: SlackRuntime) -> None:
    """Bolt acks events itself; the work happens here, after the ack, once per event id."""
    container = runtime.container
    async with runtime.after_ack():
        if not await runtime.receipts.first(f"event:{body.get('event_id')}"):
            return
        if runtime.foreign(request_team(body)):
            reply = Reply.fail(FOREIGN)
        else:
            actor = await runtime.identity.actor(event["user"])
            reply = await run_text(container, actor, LEADING_MENTION.sub("", event.get("text") or ""),
                                   runtime.identity.mention)
        payload = render_reply(reply)
        ephemeral = payload.pop("response_type") == "ephemeral"
        channel, thread = event["channel"], event.get("thread_ts") or event.get("ts")
        try:
            if ephemeral:
                await runtime.out.call(scopes.POST_EPHEMERAL, channel=channel, user=event["user"],
                                       thread_ts=thread, **payload)
            else:
                await runtime.out.call(scopes.POST_MESSAGE, channel=channel, thread_ts=thread, **payload)
        except FAILED as exc:
            log.warning("could not answer a mention in %s: %s", channel, exc)


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def announce() -> None:
        runtime.begin()  # Bolt has already acked the event

    async def app_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        await handle_app_mention(body, event, runtime)

    app.event("app_mention")(ack=announce, lazy=[app_mention])
