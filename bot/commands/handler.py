"""What every ``/incident`` handler looks like, and the small helpers they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.grammar import Command
from bot.commands.reply import Reply
from bot.container import Container
from storage.actors import Actor
from storage.views import ActionResult

#: Turns the "@user" of "assign 42 @user" into an actor on the same platform (None: not understood).
MentionResolver = Callable[[str], Awaitable[Actor | None]]
Handler = Callable[[Container, Actor, Command, MentionResolver | None], Awaitable[Reply]]


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a final full stop."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def result_reply(result: ActionResult) -> Reply:
    """The answer to a change: public when it changed something, only to the actor when not."""
    return Reply(sentence(result.message), incident=result.incident, ephemeral=not result.changed)
