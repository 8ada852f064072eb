"""Deciding what a batch of deliveries does, in Python, with no database: which group each alert joins,
and whether it opens, repeats, fires again, resolves, or is a stale retry. ``apply`` reads the rows these
decisions need and writes what they decided.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.ingest.model import AlertIn, Delivery, IngestResult, Route
from storage.models import Incident


@dataclass
class Row:
    """An alert row's mutable state (existing: ``id`` set; new in this transaction: ``alert`` set)."""

    id: int | None
    status: str
    starts_at: datetime
    ends_at: datetime | None
    occurrence_count: int
    last_seen_at: datetime | None = None
    alert: AlertIn | None = None
    dirty: bool = False
    was: str | None = None  # the status as read (None: new in this transaction)


@dataclass
class Part:
    """The alerts one delivery brought to one group."""

    index: int  # the delivery's place in the batch, and so of its result
    delivery: Delivery
    alerts: list[AlertIn] = field(default_factory=list)


@dataclass
class GroupWork:
    """One group's alerts from every delivery of the batch, in arrival order, and what they did."""

    key: str
    dedup_key: str
    route: Route
    parts: list[Part] = field(default_factory=list)
    incident: Incident | None = None
    rows: dict[str, Row] = field(default_factory=dict)  # fingerprint -> row
    opened: bool = False
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    truncated: int | None = None  # the latest grouped delivery's count of alerts it left out
    changed: bool = False  # the incident row itself changed ("+N more", state, time)
    opener: int | None = None  # the delivery whose alert opens the incident, if one opens
    closer: int | None = None  # the last delivery that resolved one of its alerts

    def counts(self, before: dict[tuple[int, str], int]) -> tuple[int, int]:
        """(firing, resolved) alerts of the incident once this batch is written, from the counts read
        ``before`` it (by incident id and status) and what the batch changed."""
        assert self.incident is not None
        now = {status: before.get((self.incident.id, status), 0) for status in ("firing", "resolved")}
        for row in self.rows.values():
            if row.status != row.was:
                if row.was is not None:
                    now[row.was] -= 1
                now[row.status] += 1
        return now["firing"], now["resolved"]

    def alerts(self) -> Iterator[AlertIn]:
        for part in self.parts:
            yield from part.alerts

    @property
    def source(self) -> str:
        return self.route.integration[:32]


def plan(items: Sequence[tuple[Delivery, Route]]) -> dict[str, GroupWork]:
    """Every group the deliveries touch, by dedup key, each with its parts in arrival order."""
    groups: dict[str, GroupWork] = {}
    for index, (delivery, route) in enumerate(items):
        parts: dict[str, Part] = {}
        for alert in delivery.alerts:
            moved = delivery.regroup.get(alert.fingerprint)
            if moved:
                key, dedup_key = moved
            else:
                key = route.group_of(delivery, alert)
                dedup_key = route.dedup_key(key)
            work = groups.get(dedup_key)
            if work is None:
                work = groups[dedup_key] = GroupWork(key, dedup_key, route)
            part = parts.get(dedup_key)
            if part is None:
                part = parts[dedup_key] = Part(index, delivery)
                work.parts.append(part)
            part.alerts.append(alert)
    return groups


def decide(now: datetime, work: GroupWork, last_resolved: dict[tuple[str, str], datetime],
            results: list[IngestResult]) -> None:
    """Each alert of the group in arrival order: the same alert twice is a repeat."""
    for part in work.parts:
        result = results[part.index]
        for alert in part.alerts:
            row = work.rows.get(alert.fingerprint)
            if alert.firing:
                new = _fire(now, work, alert, row, last_resolved.get((work.source, alert.fingerprint)),
                                 result)
                if new is not None:
                    work.rows[alert.fingerprint] = new
                    work.opener = part.index if work.opener is None else work.opener
            elif _resolve(now, work, alert, row, result):
                work.closer = part.index
                assert row is not None and row.ends_at is not None
                key = (work.source, alert.fingerprint)
                last_resolved[key] = max(row.ends_at, last_resolved.get(key, row.ends_at))
        if part.delivery.group_key:
            work.truncated = max(part.delivery.truncated, 0)

def _fire(now: datetime, work: GroupWork, alert: AlertIn, row: Row | None,
          resolved_at: datetime | None, result: IngestResult) -> Row | None:
    starts = alert.starts_at or now
    if row is not None:
        if row.status == "firing":
            result.deduplicated += 1
            row.occurrence_count += 1
        elif row.ends_at is not None and starts <= row.ends_at:
            result.stale += 1  # a retry of the firing this alert already resolved
            return None
        else:
            row.status, row.starts_at, row.ends_at = "firing", starts, None
            row.occurrence_count += 1
            work.fired.append(alert.fingerprint)
            result.fired += 1
        row.last_seen_at, row.dirty = now, True
        return None
    if resolved_at is not None and starts <= resolved_at:
        result.stale += 1  # older than its resolution: reopens nothing
        return None
    work.fired.append(alert.fingerprint)
    result.fired += 1
    return Row(None, "firing", starts, None, 1, now, alert=alert)

def _resolve(now: datetime, work: GroupWork, alert: AlertIn, row: Row | None,
             result: IngestResult) -> bool:
    """Whether the alert resolved now (not a repeat, not unknown)."""
    if row is None:
        result.ignored += 1  # never seen firing, or its incident was closed by hand
        result.unmatched.append(alert.fingerprint)
        return False
    row.last_seen_at, row.dirty = now, True
    if row.status == "resolved":
        result.deduplicated += 1
        return False
    ends = alert.ends_at or now
    row.status, row.ends_at = "resolved", max(ends, row.starts_at)
    work.resolved.append(alert.fingerprint)
    result.resolved += 1
    return True


def new_row(now: datetime, work: GroupWork, fingerprint: str, row: Row) -> dict[str, Any]:
    alert, incident = row.alert, work.incident
    assert alert is not None and incident is not None
    return {
        "fingerprint": fingerprint, "incident_id": incident.id, "status": row.status, "labels": alert.labels,
        "annotations": alert.annotations, "starts_at": row.starts_at, "ends_at": row.ends_at,
        "source": work.source, "generator_url": alert.generator_url,
        "occurrence_count": row.occurrence_count, "last_seen_at": row.last_seen_at, "created_at": now,
    }
