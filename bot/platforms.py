"""The chat platforms this build of Tocsin knows, and the pace of every paging channel.

The core names no platform: escalation learns the chat channels (``CHATS``) and their limits (``LIMITS``)
from here. A new chat platform adds its name and its ``limits`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.console import platform as console
from bot.shell import platform as shell
from bot.slack import platform as slack
from bot.telegram import platform as telegram
from escalation.pacing import Limit
from escalation.policy import Policy, channels, default_policy

SLACK, TELEGRAM, SHELL, CONSOLE = slack.NAME, telegram.NAME, shell.NAME, console.NAME
#: Platforms that let Tocsin write to an account from when it is linked (Telegram: once they started the bot;
#: the shell: while they are signed in to one; the console: from their first sign-in, as its notification
#: view keeps what was sent).
REACHABLE_WHEN_LINKED = frozenset({SLACK})
#: Chat platforms, in the order a person's default preferences list them (then email, webhook).
CHATS: tuple[str, ...] = (slack.NAME, telegram.NAME, shell.NAME, console.NAME)
#: Every paging channel: the chats, then email and webhook.
CHANNELS: tuple[str, ...] = channels(CHATS)
#: The policy of incidents that no configured policy matches.
DEFAULT_POLICY: Policy = default_policy(CHATS)

_EMAIL = (Limit("message", 5, 1.0),)

#: Per channel: the limits of one destination (address). Webhook: none of our own; the gateway says when
#: to slow down (429 + Retry-After is honoured).
LIMITS: Mapping[str, Callable[[str], tuple[Limit, ...]]] = {
    slack.NAME: slack.limits,
    telegram.NAME: telegram.limits,
    "email": lambda _address: _EMAIL,
}
