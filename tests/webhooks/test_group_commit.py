"""Group commit: deliveries arriving together share one transaction, each sender still gets its own
answer after its alerts are stored, and a delivery that cannot be stored fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import event

from storage.ingest import AlertIn, AlertIngest, Delivery, GroupCommit, IngestResult, Route
from storage.queries import IncidentFilter

ROUTE = Route("alertmanager", team="payments")
STARTS = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _delivery(group: int, *, firing: bool = True, fingerprint: str | None = None, truncated: int = 0) -> Delivery:
    ends = None if firing else datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    alert = AlertIn(fingerprint or f"fp-{group}", firing, {"alertname": f"Boom{group}", "severity": "critical"},
                    {"summary": f"boom {group}"}, STARTS, ends)
    return Delivery((alert,), group_key=f'{{}}:{{alertname="Boom{group}"}}', truncated=truncated)


def _commits(container) -> list[int]:
    commits: list[int] = []
    event.listen(container.db.engine.sync_engine, "commit", lambda conn: commits.append(1))
    return commits


async def test_deliveries_arriving_together_share_one_transaction_and_each_gets_its_own_answer(container, people):
    group = GroupCommit(AlertIngest(container.incidents))
    commits = _commits(container)
    results = await asyncio.gather(*(group.ingest(_delivery(i), ROUTE) for i in range(8)))
    assert len(commits) == 1
    assert [r.opened for r in results] == [[(n, "critical")] for n in range(1, 9)]  # numbered in arrival order
    views, total = await container.queries.list(IncidentFilter())
    assert total == 8 and {v.title for v in views} == {f"boom {i}" for i in range(8)}


async def test_the_same_alert_twice_in_one_transaction_is_one_incident_and_a_repeat(container, people):
    group = GroupCommit(AlertIngest(container.incidents))
    first, second = await asyncio.gather(group.ingest(_delivery(1), ROUTE), group.ingest(_delivery(1), ROUTE))
    assert first.opened == [(1, "critical")] and second.opened == [] and second.deduplicated == 1
    assert first.incidents == second.incidents == [1]
    incident = await container.queries.get(1)
    assert incident.alerts_firing == 1 and incident.alerts[0].occurrence_count == 2


async def test_a_firing_and_its_resolution_in_one_transaction_resolve_the_incident(container, people):
    group = GroupCommit(AlertIngest(container.incidents))
    fired, resolved = await asyncio.gather(group.ingest(_delivery(1), ROUTE),
                                           group.ingest(_delivery(1, firing=False), ROUTE))
    assert fired.opened == [(1, "critical")] and resolved.resolved == 1
    assert resolved.auto_resolved == [1]  # as if they had come one after the other
    incident = await container.queries.get(1)
    assert (incident.alerts_firing, incident.alerts_resolved, incident.status.value) == (0, 1, "resolved")
    assert [e.kind for e in (await container.queries.timeline(1))] == ["declared", "resolved"]


async def test_a_delivery_that_cannot_be_stored_fails_alone(container, people):
    group = GroupCommit(AlertIngest(container.incidents))
    deliveries = [_delivery(i) for i in range(6)]
    deliveries[2] = _delivery(2, truncated=2**70)  # no integer column holds it: the database refuses the row
    results = await asyncio.gather(*(group.ingest(d, ROUTE) for d in deliveries), return_exceptions=True)
    assert isinstance(results[2], Exception)
    stored = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, IngestResult) and len(r.opened) == 1 for r in stored)
    views, total = await container.queries.list(IncidentFilter())
    assert total == 5 and "boom 2" not in {v.title for v in views}


async def test_a_lone_delivery_is_applied_at_once_in_its_own_transaction(container, people):
    group = GroupCommit(AlertIngest(container.incidents))
    commits = _commits(container)
    for i in range(3):  # one sender, one at a time: nothing to share, nothing waited for
        assert (await asyncio.wait_for(group.ingest(_delivery(i), ROUTE), 5)).opened == [(i + 1, "critical")]
    assert len(commits) == 3
