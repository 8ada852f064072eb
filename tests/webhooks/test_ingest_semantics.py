"""What alerts mean for incidents: identity, grouping, owners, severities, repeats, refires, stale retries."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from storage.queries import IncidentFilter
from tests.webhooks.support import AM, MANUAL_TOKEN, bearer, fixture

FIRING_DB = "001_firing_DBPrimaryDown.json"
RESOLVED_DB = "003_resolved_DBPrimaryDown.json"


async def _post(client, payload, headers=AM, path="/webhooks/alertmanager"):
    response = await client.post(path, json=payload, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _alert(name="Boom", fingerprint="f1", status="firing", starts="2026-11-22T11:00:00Z",
           ends="0001-01-01T00:00:00Z", **labels):
    return {"status": status, "labels": {"alertname": name, **labels},
            "annotations": {"summary": f"{name} {labels}"}, "startsAt": starts, "endsAt": ends,
            "fingerprint": fingerprint}


def _group(*alerts, key="{}:{alertname=\"Boom\"}", truncated=0, **extra):
    return {"version": "4", "status": "firing", "groupKey": key, "alerts": list(alerts), "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "truncatedAlerts": truncated, **extra}


async def _total(container) -> int:
    return (await container.queries.list(IncidentFilter()))[1]


async def test_alerts_are_keyed_by_fingerprint_not_summary(client, container):
    same_summary = [_alert(fingerprint="a", instance="x"), _alert(fingerprint="b", instance="y")]
    for alert in same_summary:
        alert["annotations"] = {"summary": "Disk full"}
    await _post(client, _group(*same_summary))
    view = await container.queries.get(1)
    assert view.alerts_firing == 2


async def test_alerts_without_fingerprint_are_keyed_by_their_full_label_set(client, container):
    a = _alert(instance="x")
    b = _alert(instance="y")
    for alert in (a, b):
        del alert["fingerprint"]
    await _post(client, _group(a, b))
    await _post(client, _group(copy.deepcopy(a)))
    view = await container.queries.get(1)
    assert view.alerts_firing == 2
    counts = sorted(a.occurrence_count for a in view.alerts)
    assert counts == [1, 2]


async def test_a_new_alert_joins_the_open_incident_of_its_group(client, container, changes):
    await _post(client, _group(_alert(fingerprint="a")))
    await _post(client, _group(_alert(fingerprint="a"), _alert(fingerprint="b", instance="y")))
    await container.bus.drain()
    assert await _total(container) == 1
    assert [c.kind for c in changes] == ["declared", "alert_fired"]
    assert changes[-1].incident.alerts_firing == 2


async def test_a_repeat_only_bumps_count_and_last_seen(client, container, changes, clock):
    await _post(client, fixture(FIRING_DB))
    clock.advance(minutes=5)
    body = await _post(client, fixture(FIRING_DB))
    assert body["deduplicated"] == 1 and body["opened"] == []
    await container.bus.drain()
    assert [c.kind for c in changes] == ["declared"]
    (alert,) = (await container.queries.get(1)).alerts
    assert alert.occurrence_count == 2 and alert.last_seen_at == clock.now()
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared"]


async def test_a_firing_after_resolution_opens_a_new_incident(client, container):
    await _post(client, fixture(FIRING_DB))
    await _post(client, fixture(RESOLVED_DB))
    refire = fixture(FIRING_DB)
    refire["alerts"][0]["startsAt"] = "2026-11-22T12:00:00Z"
    await _post(client, refire)
    views, total = await container.queries.list(IncidentFilter())
    assert total == 2
    assert [(v.number, v.status.value) for v in views] == [(2, "open"), (1, "resolved")]


async def test_a_late_retry_of_a_firing_older_than_its_resolution_reopens_nothing(client, container, changes):
    await _post(client, fixture(FIRING_DB))
    await _post(client, fixture(RESOLVED_DB))
    body = await _post(client, fixture(FIRING_DB))  # HA replica's copy, 15 s late
    assert body["stale"] == 1
    await container.bus.drain()
    assert await _total(container) == 1
    assert [c.kind for c in changes] == ["declared", "resolved"]


async def test_a_refire_inside_a_still_open_incident_counts_as_firing_again(client, container):
    a, b = _alert(fingerprint="a"), _alert(fingerprint="b", instance="y")
    await _post(client, _group(a, b))
    await _post(client, _group(_alert(fingerprint="a", status="resolved", ends="2026-11-22T11:05:00Z"), b))
    assert (await container.queries.get(1)).alerts_firing == 1
    await _post(client, _group(_alert(fingerprint="a", starts="2026-11-22T11:10:00Z"), b))
    view = await container.queries.get(1)
    assert (view.alerts_firing, view.alerts_resolved, view.status) == (2, 0, "open")


async def test_without_auto_resolve_the_incident_stays_open_when_all_alerts_resolved(client, container):
    await _post(client, fixture(FIRING_DB), headers=bearer(MANUAL_TOKEN))
    await _post(client, fixture(RESOLVED_DB), headers=bearer(MANUAL_TOKEN))
    view = await container.queries.get(1)
    assert (view.status, view.alerts_firing, view.alerts_resolved) == ("open", 0, 1)


async def test_auto_resolution_names_the_integration_and_resolves_an_acknowledged_incident(
        client, container, people):
    await _post(client, fixture(FIRING_DB))
    await container.incidents.acknowledge(1, people.slack("responder"))
    await _post(client, fixture(RESOLVED_DB))
    view = await container.queries.get(1)
    assert view.status == "resolved" and view.acknowledged_by.name == "Responder"
    last = (await container.queries.timeline(1))[-1]
    assert (last.kind, last.actor_name, last.actor_source, last.text) == (
        "resolved", "alertmanager", "webhook", "all 1 alerts resolved")


async def test_an_incident_resolved_by_hand_while_still_firing_is_reopened_by_the_next_firing(
        client, container, people):
    await _post(client, fixture(FIRING_DB))
    await container.incidents.resolve(1, people.slack("responder"))
    await _post(client, fixture(FIRING_DB))  # PagerDuty's semantics: still firing, so a new incident
    assert await _total(container) == 2


async def test_truncated_alerts_are_kept(client, container):
    await _post(client, _group(_alert(fingerprint="a"), truncated=7))
    assert (await container.queries.get(1)).truncated_alerts == 7
    await _post(client, _group(_alert(fingerprint="a"), truncated=3))
    assert (await container.queries.get(1)).truncated_alerts == 3


async def test_unknown_severity_is_medium_and_the_word_is_kept(client, container):
    await _post(client, _group(_alert(fingerprint="a", severity="apocalyptic")))
    view = await container.queries.get(1)
    assert view.severity == "medium"
    assert view.labels["severity"] == "apocalyptic" and view.alerts[0].labels["severity"] == "apocalyptic"


async def test_the_most_severe_firing_alert_sets_the_severity(client, container):
    await _post(client, _group(_alert(fingerprint="a", severity="info"), _alert(fingerprint="b", severity="P1")))
    assert (await container.queries.get(1)).severity == "critical"


async def test_team_label_wins_over_service_map_and_integration_team(client, container):
    await _post(client, _group(_alert(fingerprint="a", service="payments-db", team="platform"), key="g1"))
    await _post(client, _group(_alert(fingerprint="b", service="payments-db"), key="g2"))
    await _post(client, _group(_alert(fingerprint="c", service="unmapped"), key="g3"))
    await _post(client, _group(_alert(fingerprint="d", team="no-such-team", service="checkout"), key="g4"))
    teams = [(await container.queries.get(n)).team.name for n in (1, 2, 3, 4)]
    assert teams == ["platform", "payments", "platform", "payments"]


async def test_without_group_key_alerts_group_by_service_instance_alertname(client, container):
    alerts = [_alert(fingerprint="a", service="api", instance="i1"),
              _alert(fingerprint="b", service="api", instance="i1", extra="x"),
              _alert(fingerprint="c", service="api", instance="i2")]
    await _post(client, _group(*alerts, key=""))
    views, total = await container.queries.list(IncidentFilter())
    assert total == 2
    assert sorted(v.alerts_firing for v in views) == [1, 2]


async def test_group_by_is_configurable_per_integration(client, container):
    from tests.webhooks.support import CONFIG, configure

    integrations = [dict(i, group_by=["service"]) if i["name"] == "alertmanager" else i
                    for i in CONFIG["integrations"]]
    configure(container, integrations=integrations)
    alerts = [_alert(fingerprint="a", service="api", instance="i1"),
              _alert(fingerprint="c", service="api", instance="i2")]
    await _post(client, _group(*alerts, key=""))
    assert await _total(container) == 1


async def test_the_same_alert_twice_in_one_payload_is_one_alert(client, container):
    await _post(client, _group(_alert(fingerprint="a"), _alert(fingerprint="a")))
    (alert,) = (await container.queries.get(1)).alerts
    assert alert.occurrence_count == 2


async def test_a_resolution_for_an_alert_never_seen_firing_opens_nothing(client, container):
    body = await _post(client, fixture(RESOLVED_DB))
    assert body["ignored"] == 1 and await _total(container) == 0


async def test_alert_times_are_kept_as_sent(client, container):
    await _post(client, fixture("002_firing_DiskAlmostFull.json"))
    await _post(client, fixture("004_resolved_DiskAlmostFull.json"))
    (alert,) = (await container.queries.get(1)).alerts
    assert alert.starts_at == datetime(2026, 11, 22, 11, 13, 50, 422103, tzinfo=UTC)
    assert alert.ends_at == datetime(2026, 11, 22, 11, 13, 52, 458000, tzinfo=UTC)
