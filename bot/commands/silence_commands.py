"""``/incident silence N 4h [comment] [confirm]`` and ``/incident unsilence N`` (docs/silences.md)."""

from __future__ import annotations

from bot.commands.grammar import Command
from bot.commands.handler import MentionResolver, result_reply
from bot.commands.reply import Reply
from bot.container import Container
from bot.silences import SilenceService, matchers_text
from storage.actors import Actor


def _duration_word(command: Command) -> str:
    seconds = int(command.duration.total_seconds()) if command.duration else 0
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


async def silence(container: Container, actor: Actor, command: Command,
                  mentions: MentionResolver | None) -> Reply:
    service = SilenceService(container)
    assert command.number is not None and command.duration is not None
    if command.scope == "confirm":
        return result_reply(await service.create(command.number, actor, command.duration, command.text))
    preview = await service.preview(command.number, actor)
    count = len(preview.matching)
    lines = [f"Silence #{command.number} for {_duration_word(command)} in Alertmanager "
             f"({preview.target.integration.name}) with matchers {matchers_text(preview.target.matchers)}?",
             f"{count} firing alert{'s' if count != 1 else ''} match now" + (":" if count else ".")]
    lines += [f"  {line}" for line in preview.matching]
    comment = f" {command.text}" if command.text else ""
    lines.append(f"To confirm: /incident silence {command.number} {_duration_word(command)}{comment} confirm")
    return Reply("\n".join(lines))


async def unsilence(container: Container, actor: Actor, command: Command,
                    mentions: MentionResolver | None) -> Reply:
    assert command.number is not None
    return result_reply(await SilenceService(container).expire(command.number, actor))
