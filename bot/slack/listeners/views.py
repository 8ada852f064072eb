"""The forms: declare (opened by ``/incident declare`` with no title) and a custom silence (opened by
Custom… in a card's Silence menu)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.chat import buttons
from bot.chat.contract import Where
from bot.commands.execute import execute
from bot.commands.grammar import Command, parse_severity
from bot.commands.reply import Reply
from bot.silences import silence_duration
from bot.slack import ids, refs, scopes
from bot.slack.identity import request_team
from bot.slack.listeners.commands import FOREIGN
from bot.slack.outbound import FAILED
from bot.slack.platform import team_channel
from bot.slack.render import render_reply
from bot.slack.runtime import SlackRuntime
from storage.errors import InvalidInput

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


async def ack_silence_form(ack: AsyncAck, view: dict[str, Any], runtime: SlackRuntime) -> None:
    """A bad duration is answered in the form (it stays open); a good one closes it, the silence follows."""
    runtime.begin()
    try:
        silence_duration(_value(view["state"]["values"], "duration") or "")
    except InvalidInput as exc:
        await ack(response_action="errors", errors={"duration": str(exc)})
    else:
        await ack()


async def handle_silence_submission(body: dict[str, Any], view: dict[str, Any], runtime: SlackRuntime) -> None:
    """Silence as the menu's fixed durations do (the same press: role, timeline, card line); the channel
    reads who silenced until when, a refusal goes only to the submitter."""
    values = view["state"]["values"]
    async with runtime.after_ack():
        try:
            duration = silence_duration(_value(values, "duration") or "")
            meta = json.loads(view.get("private_metadata") or "")
            number, channel = int(meta["number"]), meta.get("channel")
        except (InvalidInput, ValueError, TypeError, KeyError):
            return  # answered in the form by the ack, or not a form we rendered
        user = body["user"]["id"]
        if runtime.foreign(request_team(body)):
            reply = Reply.fail(FOREIGN)
        else:
            reply = await _silence(body, view, runtime, number, duration, _value(values, "comment"))
        try:
            if reply.error or reply.ephemeral or not channel:
                if channel:
                    await runtime.out.call(scopes.POST_EPHEMERAL, channel=channel, user=user, text=reply.text)
                else:
                    await runtime.out.call(scopes.POST_MESSAGE, channel=user, text=reply.text)
            else:
                await runtime.out.call(scopes.POST_MESSAGE, channel=channel, text=reply.text)
        except FAILED as exc:
            log.warning("could not tell %s the outcome of their silence form: %s", user, exc)


async def _silence(body: dict[str, Any], view: dict[str, Any], runtime: SlackRuntime, number: int,
                   duration: timedelta, comment: str | None) -> Reply:
    """One submission of one form is one silence: a redelivered submission creates nothing more."""
    user = body["user"]["id"]
    key = f"form:{user}:{ids.SILENCE_MODAL}:{view.get('id', '')}"
    if not await runtime.receipts.first(key):
        return buttons.repeated(buttons.SILENCE, number, await runtime.receipts.seen_at(key))
    actor = await runtime.identity.actor(user, body["user"].get("name", ""))
    reply = await buttons.press(runtime.container, actor, buttons.SILENCE, number, duration,
                                runtime.identity.mention, text=comment)
    if reply.error:
        await runtime.receipts.forget(key)
    return reply


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def acknowledge(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack_declare_form(ack, view, runtime)

    async def declare(body: dict[str, Any], view: dict[str, Any]) -> None:
        await handle_declare_submission(body, view, runtime)

    app.view(ids.DECLARE_MODAL)(ack=acknowledge, lazy=[declare])

    async def acknowledge_silence(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack_silence_form(ack, view, runtime)

    async def silence(body: dict[str, Any], view: dict[str, Any]) -> None:
        await handle_silence_submission(body, view, runtime)

    app.view(ids.SILENCE_MODAL)(ack=acknowledge_silence, lazy=[silence])
