"""The composition root: builds the core and lets each surface wire itself in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage.clock import Clock, SystemClock
from storage.db import Database
from storage.incidents import IncidentService
from storage.ports import ChangeBus, Sender
from storage.queries import IncidentQueries


@dataclass
class Container:
    """Everything a surface needs; built once per process."""

    settings: Settings
    config: TocsinConfig
    db: Database
    clock: Clock
    bus: ChangeBus
    incidents: IncidentService
    queries: IncidentQueries
    senders: dict[str, Sender] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, config: TocsinConfig | None = None, clock: Clock | None = None) -> Container:
        clock = clock or SystemClock()
        db = Database(settings.database_url, timeout=settings.database_timeout,
                      connect_timeout=settings.database_connect_timeout)
        bus = ChangeBus()
        return cls(settings, config or TocsinConfig(), db, clock, bus, IncidentService(db, bus, clock),
                   IncidentQueries(db))

    async def close(self) -> None:
        await self.bus.drain()
        await self.db.dispose()
