"""A platform-neutral answer to a command; each surface renders it its own way."""

from __future__ import annotations

from dataclasses import dataclass

from storage.views import IncidentView, TimelineEntry


@dataclass(frozen=True)
class Reply:
    text: str
    incident: IncidentView | None = None
    incidents: tuple[IncidentView, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    ledger: tuple[str, ...] = ()  # "/incident timeline": one plain line per escalation step, in ledger order
    ephemeral: bool = True
    error: bool = False
    open_modal: bool = False  # Slack: "/incident declare" with no title opens the declare form
    unlinked: bool = False  # the actor is not linked to a person: each surface says how to link

    @classmethod
    def fail(cls, text: str) -> Reply:
        return cls(text, error=True)
