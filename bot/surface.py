"""What each surface (webhooks, REST API, Slack, Telegram, paging) contributes to the process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from starlette.routing import BaseRoute


class Component(Protocol):
    """Something that runs for the life of the process (a poller, a socket, the scheduler)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Surface:
    name: str
    status: str = "on"  # "on", or "off (why)" for the start-up banner
    routes: list[BaseRoute] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)

    @classmethod
    def off(cls, name: str, why: str) -> Surface:
        return cls(name, f"off ({why})")
