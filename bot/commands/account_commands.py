"""``/incident help`` and ``/incident link``: about the bot and about the person asking."""

from __future__ import annotations

from bot.commands.grammar import Command, help_text
from bot.commands.handler import MentionResolver
from bot.commands.reply import Reply
from bot.container import Container
from storage import directory, linking
from storage.actors import Actor


async def show_help(container: Container, actor: Actor, command: Command,
                    mentions: MentionResolver | None) -> Reply:
    return Reply(help_text())


async def link(container: Container, actor: Actor, command: Command,
               mentions: MentionResolver | None) -> Reply:
    async with container.db.sessions() as session:
        person = await directory.find_person(session, actor)
    if person is None:
        raise directory.not_linked(actor)
    code = await linking.issue_code(container.db, person.id, container.clock.now())
    return Reply(f"You are {person.name}. To link Telegram, send /start {code} to the Tocsin bot "
                 f"within {linking.CODE_TTL.seconds // 60} minutes.")
