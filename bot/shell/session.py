"""One shell session: a configured person signed in at a terminal, typing the shared ``/incident`` grammar.

Anything typed runs as ``/incident ...`` (a leading "/incident" or "/" is optional), a bare number runs that
action of the card printed last, ``help`` lists both. Cards of the person's teams print as they change,
here or in any other process (the shared catch-up sweep), and so do pages addressed to the person.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

from bot.chat.cards import CardSync
from bot.chat.contract import Where
from bot.commands.execute import execute
from bot.commands.grammar import ALIASES, USAGE, UsageError, after_command, help_text, parse
from bot.commands.reply import Reply
from bot.container import Container
from bot.shell.channel import ShellCards, Sink
from bot.shell.inbox import ShellInbox
from bot.shell.platform import NAME
from bot.shell.render import render_reply_text
from bot.sweep import CardSweeper
from storage import identity
from storage.actors import Actor
from storage.directory import Readable

log = logging.getLogger(__name__)

SHORTCUTS = (
    "Shell shortcuts:\n"
    "  ack 3, resolve 3 [note], escalate 3, ...: any /incident subcommand, without the /incident\n"
    "  1, 2, ...: the numbered action of the card printed last\n"
    "  help: this text; Ctrl-D (or exit): leave"
)
LEAVE = frozenset({"exit", "quit", "logout"})


def session_chat() -> str:
    """This session's own chat id: its cards and claims never meet another terminal's."""
    return f"s{os.getpid()}-{secrets.token_hex(4)}"


def words() -> set[str]:
    """What Tab completes at the start of a line."""
    return {*USAGE, *ALIASES, "exit"}


@dataclass(frozen=True)
class SignedIn:
    """Who sits at the terminal: how they act, what they may read, their person record."""

    actor: Actor
    readable: Readable
    person_id: int


class Session:
    """Runs what one person types and keeps their cards in sync; a ``ChangeObserver`` through its cards."""

    def __init__(self, container: Container, person: SignedIn, sink: Sink, chat: str | None = None) -> None:
        self.container, self.actor, self.sink = container, person.actor, sink
        self.channel = ShellCards(sink, chat or session_chat(), person.readable)
        self.cards = CardSync(self.channel, container.db, container.queries, container.clock)
        self.sweeper = CardSweeper(self.cards, container.db, name="shell card")
        self.inbox = ShellInbox(container, self.channel, person, container.clock.now())
        container.bus.subscribe(self.cards)

    @property
    def where(self) -> Where:
        return Where(self.channel.chat)

    async def start(self) -> None:
        await self.sweeper.start()
        await self.inbox.start()

    async def stop(self) -> None:
        """Leave: no more pages on the shell for this person (until they sign in again), no rows left."""
        await self.inbox.stop()
        await identity.set_reachable(self.container.db, NAME, self.actor.external_id, None)
        await self.sweeper.stop()
        await self.cards.drain()
        await self.channel.forget(self.container.db)

    async def handle(self, line: str) -> bool:
        """Run one typed line; False when it asks to leave."""
        text = line.strip()
        if text in LEAVE:
            return False
        if text:
            await self._run(self._command_text(text))
            await self.settle()  # the cards this changed print before the next prompt
        return True

    async def settle(self) -> None:
        """Wait until the cards of changes made so far have printed."""
        await self.container.bus.drain()
        await self.cards.drain()

    def _command_text(self, text: str) -> str | None:
        """The ``/incident`` text a typed line stands for; None when a number matches no action."""
        if text.isdigit():
            actions = self.channel.last_actions
            index = int(text) - 1
            return actions[index] if 0 <= index < len(actions) else None
        return after_command(text)

    async def _run(self, text: str | None) -> None:
        if text is None:
            count = len(self.channel.last_actions)
            await self._say(Reply.fail(f"No such action: the card printed last has actions 1 to {count}." if count
                                       else "No card with actions has been printed yet (type help)."))
            return
        try:
            command = parse(text)
        except UsageError as exc:
            await self._say(Reply.fail(str(exc)))
            return
        if command.name == "help":
            await self._say(Reply(f"{help_text()}\n\n{SHORTCUTS}"))
            return
        reply = await execute(self.container, self.actor, command)
        if command.name == "show" and reply.incident is not None and not reply.error:
            await self.channel.print_card(reply.incident)  # the session's copy, if any, prints its changes
            return
        await self._say(reply)
        if command.name == "declare" and reply.incident is not None and not self.channel.sees(reply.incident):
            self.cards.post_copy(reply.incident, self.where)  # declared here: show it here, team or not

    async def _say(self, reply: Reply) -> None:
        try:
            await self.sink.show(render_reply_text(reply), kind="reply")
        except OSError as exc:
            log.warning("could not print a reply: %s", exc)
