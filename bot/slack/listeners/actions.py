"""Card buttons and the snooze menu: the same core calls as the commands, through the shared executor."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.chat import buttons
from bot.commands.grammar import Command, parse_duration
from bot.commands.reply import Reply
from bot.slack.identity import request_team
from bot.slack.listeners.commands import FOREIGN, ack_at_once
from bot.slack.runtime import SlackRuntime


def _command(action: dict[str, Any]) -> Command | None:
    """The subcommand a press means (``bot.chat.buttons``); None for a payload we did not render."""
    try:
        verb = buttons.SLACK[action["action_id"]]
        if verb in (buttons.SNOOZE, buttons.SILENCE):  # a menu: "<number>:<duration>"
            number, _, choice = action["selected_option"]["value"].partition(":")
            return buttons.command(verb, int(number), parse_duration(choice))
        return buttons.command(verb, int(action["value"]))
    except (KeyError, TypeError, ValueError):
        return None


#: Presses whose repeat the core answers itself ("#1 was already acknowledged by Ann at ..."), as Telegram does.


async def handle_card_action(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                             runtime: SlackRuntime) -> None:
    """A press on a card (after the ack). A repeat of the same press on the same rendering changes nothing
    and tells the presser, and only them, what happened the first time."""
    async with runtime.after_ack(respond):
        reply = await _press(body, action, runtime)
        if reply.error or reply.ephemeral:
            await respond(text=reply.text, response_type="ephemeral", replace_original=False)
        elif buttons.SLACK.get(action.get("action_id", "")) in (buttons.SILENCE, buttons.UNSILENCE):
            # the card does not show a silence: the channel reads who silenced until when, or who expired it
            await respond(text=reply.text, response_type="in_channel", replace_original=False)


async def _press(body: dict[str, Any], action: dict[str, Any], runtime: SlackRuntime) -> Reply:
    command = _command(action)
    if command is None:
        return Reply.fail("This button is from an older version of Tocsin; use /incident instead.")
    if runtime.foreign(request_team(body)):
        return Reply.fail(FOREIGN)
    user = body["user"]["id"]  # verified by the request signature; body["user"]["name"] decides nothing
    # The block id carries the card's version: a double click, or a retried delivery, is the same key.
    key = f"press:{user}:{action['action_id']}:{action.get('block_id', '')}:{command.duration or ''}"
    first = await runtime.receipts.first(key)
    if not first and command.name not in buttons.IDEMPOTENT:
        return buttons.repeated(command.name, command.number, await runtime.receipts.seen_at(key))
    actor = await runtime.identity.actor(user, body["user"].get("name", ""))
    reply = await buttons.press(runtime.container, actor, command.name, command.number, command.duration,
                                runtime.identity.mention)
    if reply.error and first:
        await runtime.receipts.forget(key)
    return reply


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def acknowledge(ack: AsyncAck) -> None:
        await ack_at_once(ack, runtime)

    async def card_action(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await handle_card_action(body, action, respond, runtime)

    for action_id in buttons.SLACK:
        app.action(action_id)(ack=acknowledge, lazy=[card_action])
