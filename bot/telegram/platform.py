"""What the core needs to know of Telegram: its name (actors' source, chat accounts, bindings, the paging
channel) and how fast it may be written to. Chat and topic ids are numbers here, strings in the core."""

from __future__ import annotations

from escalation.pacing import Limit

NAME = "telegram"
_PER_CHAT = (Limit("message", 1, 1.0),)  # one message a second per chat
_PER_GROUP = (*_PER_CHAT, Limit("group", 20, 60.0))  # and 20 a minute per group


def limits(address: str) -> tuple[Limit, ...]:
    """The pace of pages to one chat: a group's id starts with "-" (a user's does not)."""
    return _PER_GROUP if address.startswith("-") else _PER_CHAT


def chat_id(text: str) -> int:
    """A chat, user or topic id as the Bot API takes it."""
    return int(text)
