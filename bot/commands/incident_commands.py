"""The ``/incident`` commands that change an incident: declare, ack, resolve, cancel, escalate, assign, ..."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.grammar import Command, UsageError
from bot.commands.handler import MentionResolver, result_reply
from bot.commands.paging_commands import preview
from bot.commands.reply import Reply
from bot.container import Container
from storage.actors import Actor, Source


async def declare(container: Container, actor: Actor, command: Command,
                  mentions: MentionResolver | None) -> Reply:
    if not command.text:
        return Reply("Give the incident a title: /incident declare <title> [sev:high]", open_modal=True)
    result = await container.incidents.declare(
        actor, command.text, severity=command.severity or "medium", service=command.service, team=command.team
    )
    return result_reply(result)


async def ack(container: Container, actor: Actor, command: Command,
              mentions: MentionResolver | None) -> Reply:
    return result_reply(await container.incidents.acknowledge(command.number, actor))


async def resolve(container: Container, actor: Actor, command: Command,
                  mentions: MentionResolver | None) -> Reply:
    return result_reply(await container.incidents.resolve(command.number, actor, command.text))


async def cancel(container: Container, actor: Actor, command: Command,
                 mentions: MentionResolver | None) -> Reply:
    return result_reply(await container.incidents.cancel(command.number, actor, command.text))


async def escalate(container: Container, actor: Actor, command: Command,
                   mentions: MentionResolver | None) -> Reply:
    if command.scope == "preview":
        return await preview(container, actor, command, mentions)
    return result_reply(await container.incidents.escalate(command.number, actor))


async def assign(container: Container, actor: Actor, command: Command,
                 mentions: MentionResolver | None) -> Reply:
    target = await mentions(command.target) if mentions else None
    if target is None and command.target and "@" in command.target.strip("@"):
        target = Actor(Source.API, command.target.strip())  # an email address
    if target is None:
        raise UsageError(f"I can't tell who {command.target!r} is; mention them (@name) or give their email.",
                         "assign")
    return result_reply(await container.incidents.assign(command.number, actor, target))


async def note(container: Container, actor: Actor, command: Command,
               mentions: MentionResolver | None) -> Reply:
    return result_reply(await container.incidents.add_note(command.number, actor, command.text or ""))


async def snooze(container: Container, actor: Actor, command: Command,
                 mentions: MentionResolver | None) -> Reply:
    return result_reply(await container.incidents.snooze(command.number, actor, command.duration or timedelta(0)))


async def severity(container: Container, actor: Actor, command: Command,
                   mentions: MentionResolver | None) -> Reply:
    return result_reply(await container.incidents.change_severity(command.number, actor, command.severity))
