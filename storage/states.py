"""The incident state machine, severities and their vocabulary."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    ESCALATING = "escalating"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


FINAL = frozenset({Status.RESOLVED, Status.CANCELLED})
ACTIVE = frozenset({Status.OPEN, Status.ESCALATING, Status.ACKNOWLEDGED})

#: Allowed transitions. acknowledged -> escalating is deliberately absent: page more people instead.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.ESCALATING, Status.RESOLVED, Status.CANCELLED}),
    Status.ESCALATING: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED, Status.CANCELLED}),
    Status.ACKNOWLEDGED: frozenset({Status.RESOLVED, Status.CANCELLED}),
    Status.RESOLVED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def refusal_reason(current: Status, target: Status) -> str:
    """A sentence a responder can act on, explaining why ``current -> target`` is refused."""
    if current.is_final:
        return f"it is already {current.value}; {current.value} incidents are final"
    if current is Status.ACKNOWLEDGED and target is Status.ESCALATING:
        return "it is already acknowledged; page more people with assign instead of escalating"
    return f"an incident cannot go from {current.value} to {target.value}"
