"""Who acts: a neutral identity each surface builds from its verified request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.roles import Role


class Source(StrEnum):
    """The core's own sources. A chat platform's actors carry the platform's name as their source."""

    WEBHOOK = "webhook"
    API = "api"
    SCHEDULER = "scheduler"
    CLI = "cli"


CORE_SOURCES = frozenset(s.value for s in Source)


@dataclass(frozen=True)
class Actor:
    """The acting identity.

    ``source`` is a ``Source`` or a chat platform's name; ``external_id`` is what it verified: the
    platform's user id, an API token's person email, an integration's name. Display names never decide
    anything.
    ``granted_role`` is for trusted code paths only (an authenticated integration, the scheduler,
    the local CLI, an API token bound to a role).
    """

    source: str
    external_id: str
    display_name: str = ""
    granted_role: Role | None = None

    @classmethod
    def system(cls, source: str, name: str) -> Actor:
        """An actor for trusted machinery: an integration, the scheduler, the CLI."""
        return cls(source, name, name, granted_role=Role.ADMIN)

    def __str__(self) -> str:
        return f"{self.source}:{self.display_name or self.external_id}"
