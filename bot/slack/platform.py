"""What the core needs to know of Slack: its name (actors' source, chat accounts, bindings, the paging
channel) and how fast it may be written to."""

from __future__ import annotations

from escalation.pacing import Limit
from storage.views import TeamRef

NAME = "slack"
_PER_CHANNEL = (Limit("message", 1, 1.0),)  # about one message a second per channel (a DM is a channel)


def limits(address: str) -> tuple[Limit, ...]:
    """The pace of pages to one Slack channel or user."""
    return _PER_CHANNEL


def team_channel(team: TeamRef | None) -> str | None:
    """The Slack channel a team is bound to, if any."""
    room = team.room(NAME) if team is not None else None
    return room.chat if room is not None else None
