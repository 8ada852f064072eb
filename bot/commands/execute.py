"""Run a parsed ``/incident`` command against the core and answer with a neutral ``Reply``.

Every surface (Slack, Telegram, the shell) calls ``execute``; none of them decides policy itself.
``COMMANDS`` is the one table from grammar verb to handler; the handler modules never import this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.commands import (
    account_commands,
    incident_commands,
    maintenance_commands,
    oncall_commands,
    paging_commands,
    read_commands,
    silence_commands,
)
from bot.commands.grammar import Command, UsageError, parse
from bot.commands.handler import Handler, MentionResolver, sentence
from bot.commands.reply import Reply
from bot.container import Container
from storage.actors import Actor
from storage.errors import TocsinError, UnknownActor

__all__ = ["COMMANDS", "MentionResolver", "execute", "run_text"]

COMMANDS: Mapping[str, Handler] = MappingProxyType({
    "declare": incident_commands.declare,
    "list": read_commands.list_incidents,
    "show": read_commands.show,
    "ack": incident_commands.ack,
    "resolve": incident_commands.resolve,
    "escalate": incident_commands.escalate,
    "cancel": incident_commands.cancel,
    "assign": incident_commands.assign,
    "note": incident_commands.note,
    "snooze": incident_commands.snooze,
    "severity": incident_commands.severity,
    "silence": silence_commands.silence,
    "unsilence": silence_commands.unsilence,
    "timeline": read_commands.timeline,
    "stats": read_commands.stats,
    "policy": paging_commands.show_policy,
    "oncall": oncall_commands.run,
    "maintenance": maintenance_commands.run,
    "prefs": paging_commands.paging_prefs,
    "link": account_commands.link,
    "help": account_commands.show_help,
})


async def run_text(container: Container, actor: Actor, text: str, mentions: MentionResolver | None = None) -> Reply:
    """Parse and execute the text after ``/incident``."""
    try:
        command = parse(text)
    except UsageError as exc:
        return Reply.fail(str(exc))
    return await execute(container, actor, command, mentions)


async def execute(container: Container, actor: Actor, command: Command,
                  mentions: MentionResolver | None = None) -> Reply:
    """Run ``command`` for ``actor``; a mistake or refusal comes back as a failed ``Reply``, never raised."""
    handler = COMMANDS.get(command.name)
    if handler is None:
        return Reply.fail(f"'{command.name}' is not available in this version of Tocsin.")
    try:
        return await handler(container, actor, command, mentions)
    except UsageError as exc:
        return Reply.fail(str(exc))
    except UnknownActor as exc:
        return Reply(f"{exc}. Ask a Tocsin admin to add you to the config file, then try again.", error=True,
                     unlinked=True)
    except TocsinError as exc:
        return Reply.fail(sentence(str(exc)))
