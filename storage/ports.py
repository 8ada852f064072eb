"""Ports: how the core talks to the outside without knowing who listens.

Two kinds of listener:
- a ``TransactionHook`` runs inside the transaction of a change (escalation uses it to schedule and
  cancel ledger rows atomically with the state change);
- a ``ChangeObserver`` is told after the commit (the chat platforms' card syncers use it to
  re-render every posted copy). Observers run in the background and one failing never blocks another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, IncidentEvent
from storage.views import IncidentChange, IncidentView

log = logging.getLogger(__name__)


class TransactionHook(Protocol):
    """Called with every event a transaction appends (several at once when a batch of alerts lands)."""

    async def on_changes(self, session: AsyncSession, changes: Sequence[tuple[Incident, IncidentEvent]]) -> None: ...


class ChangeObserver(Protocol):
    async def incident_changed(self, change: IncidentChange) -> None: ...


class ChangeBus:
    """Fans committed changes out to observers, each in its own task, failures isolated."""

    def __init__(self) -> None:
        self._observers: list[ChangeObserver] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, observer: ChangeObserver) -> None:
        self._observers.append(observer)

    @property
    def observed(self) -> bool:
        """Whether anyone listens: a change published now would reach at least one observer."""
        return bool(self._observers)

    def publish(self, change: IncidentChange) -> None:
        for observer in self._observers:
            task = asyncio.get_running_loop().create_task(self._deliver(observer, change))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, observer: ChangeObserver, change: IncidentChange) -> None:
        try:
            await observer.incident_changed(change)
        except Exception:
            log.exception("observer %s failed on incident #%s", type(observer).__name__, change.incident.number)

    async def drain(self) -> None:
        """Wait until every delivery under way has finished (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class RecordingObserver:
    """An in-memory observer for tests and the CLI: keeps every change it is told about."""

    def __init__(self) -> None:
        self.changes: list[IncidentChange] = []

    async def incident_changed(self, change: IncidentChange) -> None:
        self.changes.append(change)


# -- outbound delivery (escalation pages, closing notices) ------------------------------------------


class Destination:
    """Where a page goes: a channel kind and an address on it (a chat platform's user or chat id,
    an email address, a URL). ``thread`` is the platform's reference to reply under, if any; ``topic`` the
    part of the chat to post in (the team's binding's thread)."""

    __slots__ = ("address", "channel", "person_id", "thread", "topic")

    def __init__(self, channel: str, address: str, *, person_id: int | None = None, thread: str | None = None,
                 topic: str | None = None) -> None:
        self.channel, self.address, self.person_id, self.thread, self.topic = channel, address, person_id, thread, topic

    def __repr__(self) -> str:
        return f"Destination({self.channel}:{self.address})"


class Page:
    """What to say: about which incident (None for an on-call handoff notice, kind "oncall"), why (``reason``),
    and a one-line text. ``key`` is the same for every attempt at one notification (an idempotency key: email
    Message-ID, webhook Idempotency-Key)."""

    __slots__ = ("incident", "key", "kind", "reason", "text")

    def __init__(self, incident: IncidentView | None, reason: str, text: str, kind: str = "page",
                 key: str | None = None) -> None:
        self.incident, self.reason, self.text, self.kind, self.key = incident, reason, text, kind, key


class Delivery:
    """The platform's reference to what was sent (a chat message id, an SMTP message id)."""

    __slots__ = ("reference", "thread")

    def __init__(self, reference: str, thread: str | None = None) -> None:
        self.reference, self.thread = reference, thread


class DeliveryError(Exception):
    """Sending failed. ``retry_after`` (seconds) when the platform said when; ``permanent`` when retrying
    cannot help (unknown chat, bot blocked)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after, self.permanent = retry_after, permanent


class Sender(Protocol):
    """Delivers pages on one channel. A sender may also have ``timeout``: the longest one ``send`` (or
    ``find``) takes by its own timeouts; the dispatcher waits that long plus a margin before it cuts one off."""

    channel: str

    async def send(self, destination: Destination, page: Page) -> Delivery: ...


class CheckingSender(Sender, Protocol):
    """A sender that can tell whether a page with ``page.key`` already reached ``destination`` (used after
    a crash between sending and recording, so that a retry does not make a visible duplicate)."""

    async def find(self, destination: Destination, page: Page) -> Delivery | None: ...
