"""Alert-born incidents go through the escalation engine's transaction hook like any other.

The sidecar process has the hook (``bootstrap.SIDECAR``), as ``serve`` does.
"""

from __future__ import annotations

from escalation import ledger
from escalation.engine import Escalation
from storage.queries import IncidentFilter
from tests.webhooks.support import AM, fixture, fixture_names


def _hook_installed_once(container) -> None:
    assert sum(isinstance(hook, Escalation) for hook in container.incidents.hooks) == 1


async def _pending_steps(container, number: int) -> int:
    incident = await container.queries.get(number)
    async with container.db.sessions() as session:
        return sum(step.status == ledger.PENDING for step in await ledger.steps_of(session, incident.id))


async def test_an_alert_born_incident_is_scheduled_and_its_resolution_cancels_the_steps(client, container):
    _hook_installed_once(container)
    assert (await client.post("/webhooks/alertmanager", json=fixture("001_firing_DBPrimaryDown.json"),
                              headers=AM)).status_code == 200
    assert await _pending_steps(container, 1) > 0
    assert (await client.post("/webhooks/alertmanager", json=fixture("003_resolved_DBPrimaryDown.json"),
                              headers=AM)).status_code == 200
    assert await _pending_steps(container, 1) == 0


async def test_replay_with_the_escalation_hook_installed(client, container):
    _hook_installed_once(container)
    for name in fixture_names():
        for _ in range(2):
            response = await client.post("/webhooks/alertmanager", json=fixture(name), headers=AM)
            assert response.status_code == 200, response.text
    await container.bus.drain()
    views, total = await container.queries.list(IncidentFilter())
    assert total == 4 and {v.status.value for v in views} == {"resolved"}


async def test_pagerduty_acknowledge_stops_the_escalation(client, container):
    from tests.webhooks.support import PD_ROUTING_KEY

    _hook_installed_once(container)
    trigger = {"routing_key": PD_ROUTING_KEY, "event_action": "trigger", "dedup_key": "db",
               "payload": {"summary": "DB down", "source": "db1", "severity": "critical"}}
    assert (await client.post("/v2/enqueue", json=trigger)).status_code == 202
    assert await _pending_steps(container, 1) > 0
    ack = {"routing_key": PD_ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "db"}
    assert (await client.post("/v2/enqueue", json=ack)).status_code == 202
    assert (await container.queries.get(1)).status == "acknowledged"
    assert await _pending_steps(container, 1) == 0
