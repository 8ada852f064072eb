"""Two sidecars on one SQLite file (separate connections, as two processes have): duplicates still make one."""

from __future__ import annotations

import asyncio

import pytest

from bot import bootstrap
from storage.ports import RecordingObserver
from storage.queries import IncidentFilter
from tests.webhooks.support import AM, client_for, configure, fixture, sidecar_app


@pytest.fixture
def db_url(tmp_path) -> str:
    from storage import migrations

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrations.upgrade(url)
    return url


async def test_parallel_copies_through_two_sqlite_connections_make_one_incident(container, people, clock, recorder):
    other = bootstrap.build(container.settings, clock=clock, parts=bootstrap.SIDECAR,
                            observers=[theirs := RecordingObserver()])
    for c in (container, other):
        configure(c)
    try:
        async with client_for(sidecar_app(container), container) as one, client_for(sidecar_app(other), other) as two:
            for name in ("005_firing_HighLatency.json", "006_firing_HighLatency.json", "007_resolved_HighLatency.json"):
                responses = await asyncio.gather(*(
                    (one, two)[i % 2].post("/webhooks/alertmanager", json=fixture(name), headers=AM)
                    for i in range(10)))
                assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
        for c in (container, other):
            await c.bus.drain()
    finally:
        await other.close()
    changes = recorder.changes + theirs.changes
    assert sorted(c.kind for c in changes) == ["alert_resolved", "declared", "resolved"]
    views, total = await container.queries.list(IncidentFilter())
    assert total == 1 and views[0].status == "resolved"
