"""What one process is made of: every component, built once by ``bot.bootstrap.build``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage.clock import Clock
from storage.db import Database
from storage.incidents import IncidentService
from storage.ingest import GroupCommit
from storage.ports import ChangeBus, Sender
from storage.queries import IncidentQueries

if TYPE_CHECKING:
    from bot.chat.contract import Platform
    from bot.housekeeping import ReceiptPruner
    from bot.paging import Paging
    from bot.reload import ConfigReloader
    from bot.slack.inbound import SlackReplays
    from bot.slack.runtime import SlackRuntime
    from bot.surface import Surface
    from bot.telegram.app import TelegramRuntime
    from bot.webhooks.metrics import Metrics
    from escalation.engine import Escalation


@dataclass
class Container:
    """Everything a surface needs; built once per process, in one place (``bot.bootstrap.build``).

    The parts a process does not run are ``None`` (a sidecar has no Slack, no scheduler...).
    """

    settings: Settings
    config: TocsinConfig  # replaced by the config reloader when ``tocsin config apply`` moves the generation
    db: Database
    clock: Clock
    bus: ChangeBus
    incidents: IncidentService
    queries: IncidentQueries
    metrics: Metrics
    ingest: GroupCommit  # concurrent webhook deliveries share transactions (group commit)
    senders: dict[str, Sender] = field(default_factory=dict)  # channel -> outbound port of the escalation engine
    chats: dict[str, Platform] = field(default_factory=dict)  # the chat platforms that are on, by name
    slack: SlackRuntime | None = None
    slack_replays: SlackReplays | None = None
    telegram: TelegramRuntime | None = None
    escalation: Escalation | None = None  # the ledger hook (serve and sidecar)
    paging: Paging | None = None  # timer and dispatcher (serve)
    housekeeping: ReceiptPruner | None = None
    config_reloader: ConfigReloader | None = None
    surfaces: list[Surface] = field(default_factory=list)  # routes, components and banner lines, in order

    async def close(self) -> None:
        await self.bus.drain()
        await self.db.dispose()
