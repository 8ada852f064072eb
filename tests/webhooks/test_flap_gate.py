"""The flap gate (issue 16, item 3): an integration's ``flap: {count: 2, within: 30m}`` keeps a group that
resolves and fires again more than twice in 30 minutes on one incident, marked flapping, instead of a new
incident each time. Through the webhook route and the incident API, on a fake clock, both databases.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config_file import ConfigError, parse
from tests.webhooks.support import AM, API_TOKENS, CONFIG, bearer, configure

ADMIN = bearer(API_TOKENS["admin"])


def _flapping_integrations(flap):
    integrations = [dict(i) for i in CONFIG["integrations"]]
    integrations[0] = {**integrations[0], "flap": flap}  # alertmanager
    return integrations


def _group(clock, status):
    now = clock.now().isoformat().replace("+00:00", "Z")
    alert = {"status": status, "labels": {"alertname": "LinkFlaps", "instance": "sw1"},
             "annotations": {"summary": "Link flaps"}, "fingerprint": "link1",
             "startsAt": now if status == "firing" else "2026-11-22T02:00:00Z",
             "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z"}
    return {"version": "4", "status": status, "groupKey": '{}:{alertname="LinkFlaps"}', "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "truncatedAlerts": 0, "alerts": [alert]}


async def _flap(client, clock, times):
    """The alert fires and resolves ``times`` times, a minute apart."""
    for _ in range(times):
        for status in ("firing", "resolved"):
            clock.advance(minutes=1)
            response = await client.post("/webhooks/alertmanager", json=_group(clock, status), headers=AM)
            assert response.status_code == 200, response.text


async def _incidents(client):
    response = await client.get("/api/incidents?status=open,acknowledged,escalating,resolved", headers=ADMIN)
    assert response.status_code == 200, response.text
    return {i["number"]: i["status"] for i in response.json()["incidents"]}


async def test_a_flapping_alert_stays_on_one_incident_marked_flapping(client, container, clock):
    configure(container, integrations=_flapping_integrations({"count": 2, "within": "30m"}))
    await _flap(client, clock, 5)
    assert await _incidents(client) == {1: "resolved", 2: "resolved", 3: "open"}
    detail = (await client.get("/api/incidents/3", headers=ADMIN)).json()
    flaps = [e for e in detail["timeline"] if e["kind"] == "flapping"]
    assert len(flaps) == 3 and "opened 3 incidents in 30m; stays open" in flaps[0]["text"]
    assert [a["status"] for a in detail["alert_list"]] == ["resolved"]  # one alert row, fired 3 times here


async def test_a_flapping_incident_resolves_once_the_group_settles(client, container, clock):
    configure(container, integrations=_flapping_integrations({"count": 2, "within": "30m"}))
    await _flap(client, clock, 3)
    assert (await _incidents(client))[3] == "open"
    clock.advance(minutes=30)  # no new incident of the group within the window any more
    await _flap(client, clock, 1)
    assert await _incidents(client) == {1: "resolved", 2: "resolved", 3: "resolved"}


async def test_without_the_gate_every_refire_is_a_new_incident(client, container, clock):
    await _flap(client, clock, 4)
    assert await _incidents(client) == {1: "resolved", 2: "resolved", 3: "resolved", 4: "resolved"}


@pytest.mark.parametrize("flap, key", [({"count": 0, "within": "30m"}, "flap.count"),
                                       ({"count": 3}, "flap.within"),
                                       ({"count": 3, "within": "soon"}, "flap.within"),
                                       ({"count": 3, "within": "30m", "for": 1}, "flap.for")])
def test_a_wrong_flap_gate_names_the_key(flap, key):
    with pytest.raises(ConfigError, match=f"integrations\\[0\\].{key}"):
        parse({**CONFIG, "integrations": _flapping_integrations(flap)}, env={})


def test_the_gate_survives_the_runtime_document():
    from bot.config_file import runtime_document, with_runtime

    config = parse({**CONFIG, "integrations": _flapping_integrations({"count": 2, "within": "30m"})}, env={})
    again = with_runtime(parse(CONFIG, env={}), runtime_document(config))
    assert (again.integrations[0].flap_count, again.integrations[0].flap_within) == (2, 1800)
    assert timedelta(seconds=again.integrations[0].flap_within) == timedelta(minutes=30)
