"""Who acts: a neutral identity each surface builds from its verified request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.roles import Role


class Source(StrEnum):
    SLACK = "slack"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"
    API = "api"
    SCHEDULER = "scheduler"
    CLI = "cli"
    SHELL = "shell"


#: Sources whose external id names a person record (Slack user id, Telegram user id, email).
PERSON_SOURCES = frozenset({Source.SLACK, Source.TELEGRAM, Source.API, Source.SHELL})


@dataclass(frozen=True)
class Actor:
    """The acting identity.

    ``external_id`` is what the platform verified: a Slack user id, a Telegram user id, an API
    token's person email, an integration's name. Display names never decide anything.
    ``granted_role`` is for trusted code paths only (an authenticated integration, the scheduler,
    the local CLI, an API token bound to a role).
    """

    source: Source
    external_id: str
    display_name: str = ""
    granted_role: Role | None = None

    @classmethod
    def system(cls, source: Source, name: str) -> Actor:
        """An actor for trusted machinery: an integration, the scheduler, the CLI."""
        return cls(source, name, name, granted_role=Role.ADMIN)

    def __str__(self) -> str:
        return f"{self.source.value}:{self.display_name or self.external_id}"
