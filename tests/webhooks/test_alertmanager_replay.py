"""Replaying the payloads captured from a real Alertmanager 0.25 gives the incidents and states of issue 3."""

from __future__ import annotations

from storage.queries import IncidentFilter
from tests.webhooks.support import AM, fixture, fixture_names


async def _replay(client, changes, container, times: int = 1) -> None:
    for name in fixture_names():
        for _ in range(times):
            response = await client.post("/webhooks/alertmanager", json=fixture(name), headers=AM)
            assert response.status_code == 200, response.text
        await container.bus.drain()


async def test_replay_opens_one_incident_per_group_and_resolves_each(client, changes, container):
    await _replay(client, changes, container)
    views, total = await container.queries.list(IncidentFilter())
    assert total == 4
    by_title = {v.title: v for v in views}
    db = by_title["Primary Postgres is down"]
    assert (db.severity, db.team.name, db.service, db.status) == ("critical", "payments", "payments-db", "resolved")
    assert db.resolved_by is None and db.alerts_resolved == 1 and db.alerts_firing == 0
    disk = by_title["Disk /var is 95% full"]
    assert (disk.severity, disk.team.name, disk.status) == ("medium", "platform", "resolved")
    latency = by_title["HighLatency on api"]
    assert (latency.alerts_firing, latency.alerts_resolved, latency.status) == (0, 2, "resolved")
    checkout = by_title["Test condition raised on 127.0.0.1:9099"]
    assert (checkout.severity, checkout.team.name) == ("critical", "payments")


async def test_replay_publishes_one_set_of_changes(client, changes, container):
    await _replay(client, changes, container)
    kinds = [(c.incident.number, c.kind) for c in changes]
    assert kinds == [(1, "declared"), (2, "declared"), (1, "resolved"), (2, "resolved"), (3, "declared"),
                     (3, "alert_resolved"), (3, "resolved"), (4, "declared"), (4, "resolved")]
    assert {c.actor_name for c in changes} == {"alertmanager"}
    assert {c.actor_source for c in changes} == {"webhook"}


async def test_every_payload_twice_changes_nothing_more(client, changes, container):
    await _replay(client, changes, container, times=2)
    assert len(changes) == 9
    _, total = await container.queries.list(IncidentFilter())
    assert total == 4


async def test_partial_resolution_shows_firing_and_resolved_counts(client, changes, container):
    for name in ("005_firing_HighLatency.json", "006_firing_HighLatency.json"):
        assert (await client.post("/webhooks/alertmanager", json=fixture(name), headers=AM)).status_code == 200
    view = await container.queries.get(1)
    assert (view.status, view.alerts_firing, view.alerts_resolved) == ("open", 1, 1)
    await container.bus.drain()
    assert changes[-1].kind == "alert_resolved" and changes[-1].text == "1 firing, 1 resolved"
