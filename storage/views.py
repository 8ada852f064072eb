"""Immutable views of incidents, built inside a transaction and safe to use after it closed.

Renderers (each chat platform's, the REST API) consume these and never need a session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.states import Severity, Status


@dataclass(frozen=True)
class Account:
    """A person's account on a chat platform; ``reachable``: the platform lets us write to them directly."""

    external_id: str
    reachable: bool = True


@dataclass(frozen=True)
class Room:
    """A team's chat on a platform, and the part of it (``thread``) its cards go to, if any."""

    chat: str
    thread: str | None = None


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str
    email: str | None = None
    accounts: Mapping[str, Account] = field(default_factory=dict, hash=False)  # by platform

    def external_id(self, platform: str) -> str | None:
        account = self.accounts.get(platform)
        return account.external_id if account else None


@dataclass(frozen=True)
class TeamRef:
    id: int
    name: str
    rooms: Mapping[str, Room] = field(default_factory=dict, hash=False)  # by platform

    def room(self, platform: str) -> Room | None:
        return self.rooms.get(platform)


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class OnCall:
    """Who one schedule of the incident's team had on call when the view was built (``who`` None: nobody),
    until when, and the schedule's zone (the card says "until Mon 09:00" in it)."""

    schedule: str
    who: str | None
    until: datetime | None
    timezone: str


@dataclass(frozen=True)
class AlertView:
    fingerprint: str
    status: str
    name: str
    summary: str
    labels: dict[str, Any]
    starts_at: datetime
    ends_at: datetime | None
    occurrence_count: int
    last_seen_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    at: datetime
    actor_name: str | None
    actor_source: str
    text: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SilenceRef:
    """The last silence Tocsin created at the source for an incident and nobody expired (from its
    ``silenced`` timeline event): its Alertmanager id, its end and who created it."""

    id: str
    until: datetime
    by: str | None


@dataclass(frozen=True)
class IncidentView:
    """Everything a renderer needs to draw an incident card."""

    id: int
    number: int
    title: str
    description: str | None
    status: Status
    severity: Severity
    service: str | None
    team: TeamRef | None
    labels: dict[str, Any]
    dedup_key: str | None
    source: str
    created_by: PersonRef | None
    assignee: PersonRef | None
    acknowledged_by: PersonRef | None
    resolved_by: PersonRef | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime
    snoozed_until: datetime | None
    escalation_policy: str | None
    escalation_level: int
    alerts_firing: int = 0
    alerts_resolved: int = 0
    truncated_alerts: int = 0
    links: tuple[Link, ...] = ()
    alerts: tuple[AlertView, ...] = ()
    silence: SilenceRef | None = None
    on_call: tuple[OnCall, ...] = ()  # per schedule of the team, as of the build (docs/oncall.md)

    def active_silence(self, now: datetime | None = None) -> SilenceRef | None:
        """The silence if it still runs at ``now``; a card asks as of its incident's last change (the
        moment the card was drawn for), so the line goes on the first edit after the silence ended."""
        at = now or self.updated_at
        return self.silence if self.silence is not None and self.silence.until > at else None

    @property
    def is_open(self) -> bool:
        return not self.status.is_final

    @property
    def ref(self) -> str:
        return f"#{self.number}"


@dataclass(frozen=True)
class ActionResult:
    """What an action did. ``changed`` is False for a repeat (double click, retried webhook)."""

    incident: IncidentView
    changed: bool
    message: str


@dataclass(frozen=True)
class IncidentChange:
    """Published to every surface after a change committed."""

    incident: IncidentView
    kind: str
    actor_name: str
    actor_source: str
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def version(view: IncidentView) -> str:
    """Changes whenever the incident does: what a card shows, on any platform (a press on an older
    rendering is a different press; a sweep edits only cards that show an older one)."""
    return f"{int(view.updated_at.timestamp() * 1000)}-{view.status.value}-{view.escalation_level}"
