"""The composition root: every component of a process, built once, here, in one visible order.

In the spirit of cosmicpython's ``bootstrap.py``: ``tocsin serve``, ``tocsin sidecar``, the CLI commands
and the test fixtures all call ``build``; tests pass fakes (a clock, senders, observers, pacing limits)
instead of patching. Nothing else subscribes to the change bus, adds a transaction hook or a sender.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot import api, health, housekeeping, notify, paging, slack, sweep, telegram, webhooks
from bot.chat.contract import Platform
from bot.config_file import TocsinConfig
from bot.console.app import make_console
from bot.container import Container
from bot.platforms import CHATS
from bot.reload import ConfigReloader
from bot.settings import Settings
from bot.surface import Surface
from bot.webhooks.metrics import Metrics
from escalation.engine import Escalation
from escalation.pacing import Limit
from storage.clock import Clock, SystemClock
from storage.db import Database
from storage.incidents import IncidentService
from storage.ingest import AlertIngest, GroupCommit
from storage.ports import ChangeBus, ChangeObserver, Sender
from storage.queries import IncidentQueries


@dataclass(frozen=True)
class Parts:
    """Which parts a process runs besides the core (database, bus, incidents, queries, metrics, ingest)."""

    http: bool = False  # health, webhooks, REST API, config reloader
    slack: bool = False  # when its settings allow (else its banner line says why not)
    telegram: bool = False
    escalation: Literal["scheduler", "ledger"] | None = None  # "scheduler": timer, dispatcher and the ledger hook
    housekeeping: bool = False
    console: bool = False  # the web console at / (needs http)


CORE = Parts()
#: ``tocsin serve``: everything.
SERVE = Parts(http=True, slack=True, telegram=True, escalation="scheduler", housekeeping=True, console=True)
#: ``tocsin sidecar``: receives monitoring webhooks and serves the API, without chat platforms or the
#: scheduler, but with the escalation ledger hook, so incidents it opens or acknowledges are escalated by serve.
SIDECAR = Parts(http=True, escalation="ledger")


def build(settings: Settings, config: TocsinConfig | None = None, clock: Clock | None = None, *,
          parts: Parts = CORE, observers: Iterable[ChangeObserver] = (), senders: Mapping[str, Sender] | None = None,
          telegram_limits: Sequence[Limit] | None = None, telegram_poll_timeout: float = 10.0,
          console_sweep: float = sweep.INTERVAL) -> Container:
    """The process: the core, then each part ``parts`` names, wired as they are built.

    ``observers``: told of every committed change, before any platform's card sync (tests record them).
    ``senders``: outbound ports by channel, beside (or instead of) those the settings configure.
    """
    # -- the core --------------------------------------------------------------------------------------
    clock = clock or SystemClock()
    db = Database(settings.database_url, timeout=settings.database_timeout,
                  connect_timeout=settings.database_connect_timeout)
    bus = ChangeBus()
    for observer in observers:
        bus.subscribe(observer)
    incidents = IncidentService(db, bus, clock)
    c = Container(settings, config or TocsinConfig(), db, clock, bus, incidents, IncidentQueries(db, clock),
                  metrics=Metrics(), ingest=GroupCommit(AlertIngest(incidents)))

    # -- outbound senders that are not chat platforms (the scheduler's) --------------------------------
    if parts.escalation == "scheduler":
        c.senders.update(notify.senders(settings))
    elif parts.escalation == "ledger":  # steps run here (by hand) plan pages on serve's channels; serve sends
        c.senders.update(notify.sent_by_serve(settings))
    c.senders.update(senders or {})

    # -- HTTP: health, monitoring webhooks and /metrics, the REST API, the config reloader ---------------
    surfaces: list[Surface] = []
    if parts.http:
        c.config_reloader = ConfigReloader(c)
        surfaces += [health.surface(), webhooks.surface(c), api.surface(c), c.config_reloader.surface]

    # -- chat platforms: runtime, card sync on the bus, sender ----------------------------------------
    chats: list[Platform | Surface] = []
    if parts.slack:
        chats.append(found := slack.make_platform(c))
        if isinstance(found, slack.SlackPlatform):
            c.slack, c.slack_replays = found.runtime, found.replays
    if parts.telegram:
        chats.append(found := telegram.make_platform(c, limits=telegram_limits, poll_timeout=telegram_poll_timeout))
        if isinstance(found, telegram.TelegramPlatform):
            c.telegram = found.runtime
    for chat in chats:
        if isinstance(chat, Platform):
            c.chats[chat.name] = chat
            bus.subscribe(chat.cards)
            c.senders[chat.name] = chat.sender
        surfaces.append(chat if isinstance(chat, Surface) else chat.surface)

    # -- the web console: its live cards on the bus --------------------------------------------------------
    if parts.console:
        board = make_console(c, console_sweep)
        bus.subscribe(board.feed)
        surfaces.append(board.surface)

    # -- escalation: the ledger hook; with the scheduler, the timer and dispatcher ----------------------
    if parts.escalation is not None:
        c.escalation = Escalation(incidents, c.senders, CHATS)
        incidents.hooks.append(c.escalation)
    if parts.escalation == "scheduler":
        assert c.escalation is not None
        c.paging = paging.build(c, c.escalation)
        bus.subscribe(c.paging)
        surfaces.append(paging.surface(c, c.paging))
    elif parts.escalation == "ledger":
        surfaces.append(paging.ledger_only())

    # -- housekeeping -----------------------------------------------------------------------------------
    if parts.housekeeping:
        retention = timedelta(hours=settings.receipt_retention_hours)
        c.housekeeping = housekeeping.ReceiptPruner(db, clock, retention)
        surfaces.append(housekeeping.surface(c.housekeeping))

    c.surfaces = surfaces
    return c
