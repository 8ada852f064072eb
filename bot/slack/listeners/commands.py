"""``/incident ...``: ack at once, run the shared grammar and executor, answer through response_url."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.chat.contract import Where
from bot.commands.execute import execute
from bot.commands.grammar import UsageError, parse
from bot.commands.reply import Reply
from bot.slack import ids, refs, scopes
from bot.slack.identity import request_team
from bot.slack.platform import team_channel
from bot.slack.render import render_declare_modal, render_reply
from bot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)
FOREIGN = "Tocsin only takes commands from members of its own Slack workspace."


async def handle_incident_command(command: dict[str, Any], respond: AsyncRespond, runtime: SlackRuntime) -> None:
    """Run the command after the ack and answer through the response_url."""
    async with runtime.after_ack(respond):
        reply = await _run(command, runtime)
        if reply.open_modal and await _open_modal(command, runtime):
            return
        here = reply.incident is not None and not reply.error and not reply.ephemeral and _declared_here(reply, command)
        if here:
            runtime.cards.post_copy(reply.incident, Where(command["channel_id"]))
        await respond(**render_reply(reply, quiet=here or _card_channel(reply) == command.get("channel_id")))


async def _run(command: dict[str, Any], runtime: SlackRuntime) -> Reply:
    if runtime.foreign(request_team(command)):
        return Reply.fail(FOREIGN)
    try:
        parsed = parse(command.get("text") or "")
    except UsageError as exc:
        return Reply.fail(str(exc))
    if parsed.name == "declare" and parsed.team is None:  # typed in a team's channel: that team's incident
        parsed = replace(parsed, team=await refs.channel_team(runtime.container.db, command.get("channel_id")))
    actor = await runtime.identity.actor(command["user_id"], command.get("user_name", ""))
    return await execute(runtime.container, actor, parsed, runtime.identity.mention)


def _declared_here(reply: Reply, command: dict[str, Any]) -> bool:
    """A declared incident whose team has no channel gets its live card where it was declared."""
    view = reply.incident
    try:
        is_declare = parse(command.get("text") or "").name == "declare"
    except UsageError:
        return False
    return is_declare and view is not None and not team_channel(view.team) \
        and bool(command.get("channel_id"))


def _card_channel(reply: Reply) -> str | None:
    return team_channel(reply.incident.team) if reply.incident else None


async def _open_modal(command: dict[str, Any], runtime: SlackRuntime) -> bool:
    try:
        await runtime.out.once(scopes.OPEN_VIEW, trigger_id=command["trigger_id"],
                               view=render_declare_modal(command.get("channel_id")))
        return True
    except Exception as exc:  # trigger_id expired or Slack down: fall back to the text usage
        log.warning("views.open failed: %s", exc)
        return False


async def ack_at_once(ack: AsyncAck, runtime: SlackRuntime) -> None:
    """Slack wants the HTTP 200 within 3 seconds: answer before any work (which runs lazily)."""
    runtime.begin()
    await ack()


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def acknowledge(ack: AsyncAck) -> None:
        await ack_at_once(ack, runtime)

    async def incident(command: dict[str, Any], respond: AsyncRespond) -> None:
        await handle_incident_command(command, respond, runtime)

    app.command(ids.COMMAND)(ack=acknowledge, lazy=[incident])

