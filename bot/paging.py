"""The escalation engine's parts in a process: the step timer, the notification dispatcher and the on-call
handoff notices (escalation/handoffs.py).

``bot.bootstrap`` installs the ledger hook whenever the process escalates, even with TOCSIN_SCHEDULER=off,
so that incidents changed here keep their ledger right; the timer and dispatcher run only with the
scheduler on.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.container import Container
from bot.notify.inbox import INBOXES
from bot.platforms import CHATS, LIMITS
from bot.surface import Surface
from escalation.dispatcher import Dispatcher
from escalation.engine import Escalation
from escalation.handoffs import HandoffNotices
from escalation.policy import channels
from escalation.timer import EscalationTimer
from escalation.wakeup import Listener
from storage.views import IncidentChange

#: Changes after which the next due time may have moved.
RESCHEDULING = frozenset({"declared", "snoozed", "escalated", "acknowledged", "resolved", "cancelled"})


@dataclass
class Paging:
    escalation: Escalation
    dispatcher: Dispatcher
    timer: EscalationTimer
    handoffs: HandoffNotices

    def wake(self) -> None:
        """Another process scheduled steps or queued notifications."""
        self.timer.kick()
        self.dispatcher.kick()

    async def incident_changed(self, change: IncidentChange) -> None:
        """Told after every commit: re-arm the timer and let the dispatcher look at the outbox."""
        if change.kind in RESCHEDULING and change.actor_source != "scheduler":
            self.timer.kick()
        self.dispatcher.kick()


def build(container: Container, escalation: Escalation) -> Paging:
    """The step timer and the notification dispatcher of ``escalation`` (the ledger hook, already on)."""
    settings = container.settings
    dispatcher = Dispatcher(container.db, container.clock, container.senders, retry_cap=settings.notify_retry_cap,
                            failover_after=settings.notify_failover_after, limits=LIMITS)
    timer = EscalationTimer(escalation, after_run=lambda _ran: dispatcher.kick())
    handoffs = HandoffNotices(container.db, container.clock, container.senders, channels(CHATS), skip=INBOXES,
                              kick=dispatcher.kick)
    return Paging(escalation, dispatcher, timer, handoffs)


def surface(container: Container, paging: Paging) -> Surface:
    """The scheduler's banner line and components: the timer, the dispatcher and PostgreSQL's wake-ups."""
    if not container.settings.scheduler:
        return Surface.off("scheduler", "TOCSIN_SCHEDULER=off; the ledger is still kept")
    channels = ", ".join(sorted(container.senders)) or "none yet"
    components = [paging.timer, paging.dispatcher, paging.handoffs]
    if container.db.is_postgres:
        components.append(Listener(container.db.url, paging.wake))
    return Surface("scheduler", f"on (channels at start-up: {channels})", components=components)


def ledger_only() -> Surface:
    """For ``tocsin sidecar``: the ledger and outbox are kept right for changes made here (declares from
    webhooks, acknowledgements from the API), without running the timer or the dispatcher.

    Only the hook: no observer on the change bus, so the sidecar's hot path builds no incident views
    that nobody would read. The serve process learns of new steps from PostgreSQL's NOTIFY or its timer.
    """
    return Surface("escalation ledger", "on (the scheduler runs in tocsin serve)")
