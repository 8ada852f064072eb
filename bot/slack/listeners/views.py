"""The declare form (opened by ``/incident declare`` with no title)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.chat.contract import Where
from bot.commands.execute import execute
from bot.commands.grammar import Command, parse_severity
from bot.slack import ids, refs, scopes
from bot.slack.outbound import FAILED
from bot.slack.platform import team_channel
from bot.slack.render import render_reply
from bot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)


def _value(values: dict[str, Any], block: str) -> str | None:
    element = values.get(block, {}).get(block, {})
    value = element.get("value") or (element.get("selected_option") or {}).get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


async def ack_declare_form(ack: AsyncAck, view: dict[str, Any], runtime: SlackRuntime) -> None:
    """Close the form at once (or show what is missing); the declare itself runs after the ack."""
    runtime.begin()
    if not _value(view["state"]["values"], "title"):
        await ack(response_action="errors", errors={"title": "Give the incident a title."})
    else:
        await ack()


async def handle_declare_submission(body: dict[str, Any], view: dict[str, Any], runtime: SlackRuntime) -> None:
    """Declare from the form, then tell the user the outcome in a DM from the app."""
    values = view["state"]["values"]
    title = _value(values, "title")
    async with runtime.after_ack():
        if not title:
            return
        user = body["user"]["id"]
        channel = view.get("private_metadata") or None
        team = _value(values, "team") or await refs.channel_team(runtime.container.db, channel)
        command = Command("declare", text=title, severity=parse_severity(_value(values, "severity") or "medium"),
                          service=_value(values, "service"), team=team)
        actor = await runtime.identity.actor(user, body["user"].get("name", ""))
        reply = await execute(runtime.container, actor, command)
        if reply.incident and not reply.error and channel and not team_channel(reply.incident.team):
            runtime.cards.post_copy(reply.incident, Where(channel))
        payload = render_reply(reply)
        payload.pop("response_type")
        try:
            await runtime.out.call(scopes.POST_MESSAGE, channel=user, **payload)
        except FAILED as exc:
            log.warning("could not tell %s the outcome of their declare: %s", user, exc)


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def acknowledge(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack_declare_form(ack, view, runtime)

    async def declare(body: dict[str, Any], view: dict[str, Any]) -> None:
        await handle_declare_submission(body, view, runtime)

    app.view(ids.DECLARE_MODAL)(ack=acknowledge, lazy=[declare])
