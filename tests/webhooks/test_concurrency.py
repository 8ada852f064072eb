"""At-least-once senders on PostgreSQL with real concurrency: duplicates race and still make one incident.

Two sidecars (separate apps, connection pools and buses, as two processes would be) serve real
uvicorn on loopback; copies of each delivery are posted to both at once.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from bot import bootstrap
from bot.settings import Settings
from storage.ports import RecordingObserver
from storage.queries import IncidentFilter
from tests.webhooks.support import AM, configure, fixture, fixture_names, serving, sidecar_app


@pytest.fixture
def db_url(pg_url: str) -> str:
    """Real row locks and concurrent transactions: PostgreSQL only."""
    return pg_url


@pytest.fixture
async def two_sidecars(container, people, clock, recorder):
    """Base URLs of two sidecars on the same database, and every change either of them published."""
    other = bootstrap.build(Settings(database_url=container.settings.database_url, scheduler=False),
                            clock=clock, parts=bootstrap.SIDECAR, observers=[theirs := RecordingObserver()])
    for c in (container, other):
        configure(c)
    async with contextlib.AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(serving(sidecar_app(c), c)) for c in (container, other)]

        async def published():
            for c in (container, other):
                await c.bus.drain()
            return recorder.changes + theirs.changes

        yield urls, published
    await other.close()


async def _post_copies(urls, payload, copies: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as http:
        return await asyncio.gather(*(
            http.post(f"{urls[i % len(urls)]}/webhooks/alertmanager", json=payload, headers=AM)
            for i in range(copies)))


async def test_ten_parallel_copies_make_one_incident_and_one_notification(two_sidecars, container):
    urls, published = two_sidecars
    responses = await _post_copies(urls, fixture("001_firing_DBPrimaryDown.json"), 10)
    assert [r.status_code for r in responses] == [200] * 10
    assert sum(len(r.json()["opened"]) for r in responses) == 1
    changes = await published()
    assert [c.kind for c in changes] == ["declared"]
    views, total = await container.queries.list(IncidentFilter())
    assert total == 1 and views[0].alerts_firing == 1
    assert (await container.queries.get(1)).alerts[0].occurrence_count == 10


async def test_the_whole_capture_sent_ten_times_in_parallel_gives_the_same_story(two_sidecars, container):
    urls, published = two_sidecars
    for name in fixture_names():
        responses = await _post_copies(urls, fixture(name), 10)
        assert {r.status_code for r in responses} == {200}, name
    changes = await published()
    assert sorted((c.incident.number, c.kind) for c in changes) == sorted([
        (1, "declared"), (1, "resolved"), (2, "declared"), (2, "resolved"), (3, "declared"),
        (3, "alert_resolved"), (3, "resolved"), (4, "declared"), (4, "resolved")])
    views, total = await container.queries.list(IncidentFilter())
    assert total == 4 and {v.status.value for v in views} == {"resolved"}


async def test_distinct_alerts_of_one_group_racing_join_one_incident(two_sidecars, container):
    urls, published = two_sidecars
    base = fixture("005_firing_HighLatency.json")
    payloads = []
    for i in range(12):
        payload = fixture("005_firing_HighLatency.json")
        alert = dict(base["alerts"][0], fingerprint=f"fp{i}", labels={**base["alerts"][0]["labels"], "instance": f"api{i}"})
        payload["alerts"] = [alert]
        payloads.append(payload)
    async with httpx.AsyncClient(timeout=30) as http:
        responses = await asyncio.gather(*(
            http.post(f"{urls[i % 2]}/webhooks/alertmanager", json=p, headers=AM) for i, p in enumerate(payloads)))
    assert {r.status_code for r in responses} == {200}
    views, total = await container.queries.list(IncidentFilter())
    assert total == 1 and views[0].alerts_firing == 12
    changes = await published()
    assert [c.kind for c in changes].count("declared") == 1
    # Deliveries that shared a transaction (group commit) share one timeline entry, so there are at most
    # twelve changes, and between them they name every alert exactly once.
    named = [fp for c in changes for fp in (c.data.get("fired") or [])]
    declared = next(c for c in changes if c.kind == "declared")
    assert declared.data["alerts"] + len(named) == 12 and len(set(named)) == len(named)
    assert {c.kind for c in changes} <= {"declared", "alert_fired"} and len(changes) <= 12


async def test_a_firing_racing_its_resolution_ends_resolved(two_sidecars, container):
    urls, published = two_sidecars
    firing, resolved = fixture("001_firing_DBPrimaryDown.json"), fixture("003_resolved_DBPrimaryDown.json")
    assert (await _post_copies(urls, firing, 1))[0].status_code == 200
    async with httpx.AsyncClient(timeout=30) as http:
        responses = await asyncio.gather(*(
            http.post(f"{urls[i % 2]}/webhooks/alertmanager", json=firing if i % 2 else resolved, headers=AM)
            for i in range(10)))
    assert {r.status_code for r in responses} == {200}
    views, total = await container.queries.list(IncidentFilter())
    assert total == 1 and views[0].status == "resolved"
