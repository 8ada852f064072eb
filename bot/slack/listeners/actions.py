"""Card buttons and the snooze and silence menus: the same core calls as the commands, through the shared
executor. The silence menu's Custom… opens a form instead; its submission is handled in ``views``."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.chat import buttons
from bot.commands.grammar import Command, parse_duration
from bot.commands.reply import Reply
from bot.slack import ids, scopes
from bot.slack.identity import request_team
from bot.slack.listeners.commands import FOREIGN, ack_at_once
from bot.slack.render import render_silence_modal
from bot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)


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


def _custom_silence(action: dict[str, Any]) -> int | None:
    """The incident whose Silence menu's Custom… was picked ("<number>:custom"), else None."""
    if buttons.SLACK.get(action.get("action_id", "")) != buttons.SILENCE:
        return None
    number, _, choice = ((action.get("selected_option") or {}).get("value") or "").partition(":")
    return int(number) if choice == ids.SILENCE_CUSTOM and number.isdigit() else None


async def _open_silence_form(body: dict[str, Any], number: int, runtime: SlackRuntime) -> Reply | None:
    """Open the duration form with the pick's trigger_id (valid for 3 seconds: no database work first; the
    role is checked on submission, as a fixed duration's press is). A failure is answered with the command."""
    if runtime.foreign(request_team(body)):
        return Reply.fail(FOREIGN)
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    try:
        await runtime.out.once(scopes.OPEN_VIEW, trigger_id=body["trigger_id"],
                               view=render_silence_modal(number, channel))
    except Exception as exc:  # trigger_id expired or Slack down: the typed command does the same
        log.warning("views.open failed: %s", exc)
        return Reply.fail(f"Could not open the silence form; type /incident silence {number} 90m confirm instead.")
    return None


async def handle_card_action(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                             runtime: SlackRuntime) -> None:
    """A press on a card (after the ack). A repeat of the same press on the same rendering changes nothing
    and tells the presser, and only them, what happened the first time."""
    async with runtime.after_ack(respond):
        custom = _custom_silence(action)
        if custom is not None:
            failed = await _open_silence_form(body, custom, runtime)
            if failed:
                await respond(text=failed.text, response_type="ephemeral", replace_original=False)
            return
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
