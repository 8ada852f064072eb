"""The paging threshold (issue 16, item 3): a policy's ``page_after: 5m`` pages an alert-born incident only
once its alert has fired for five minutes and still fires; the incident itself exists from the first alert.

Through the sidecar's webhook route and the incident API, on a fake clock, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import config_file
from escalation.policy import PolicyError, parse_policy
from tests.webhooks.support import AM, API_TOKENS, MANUAL_TOKEN, bearer, client_for, configure, sidecar_app

ADMIN = bearer(API_TOKENS["admin"])
POLICY = {"name": "settle", "page_after": "5m",
          "steps": [{"after": "0s", "notify": ["team_channel"], "channels": ["slack"]},
                    {"after": "10m", "notify": ["role:team_lead"], "channels": ["slack"]}]}


def _alert(status="firing", starts="2026-11-22T02:59:00Z", ends="0001-01-01T00:00:00Z"):
    return {"version": "4", "status": status, "groupKey": '{}:{alertname="DiskFull"}', "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "truncatedAlerts": 0,
            "alerts": [{"status": status, "labels": {"alertname": "DiskFull", "team": "payments"},
                        "annotations": {"summary": "Disk full"}, "startsAt": starts, "endsAt": ends,
                        "fingerprint": "disk1"}]}


@pytest.fixture
async def http(container, people, clock, paging):
    configure(container, escalation_policies=[POLICY],
              teams=[{"name": "payments", "slack_channel": "CPAYMENTS"}, {"name": "platform"}])
    await config_file.apply(container.db, container.config, clock.now(), runtime=False)
    async with client_for(sidecar_app(container), container) as client:
        yield client


async def _post(http, payload, headers=AM, path="/webhooks/alertmanager"):
    response = await http.post(path, json=payload, headers=headers)
    assert response.status_code == 200, response.text


async def _steps(http, number=1):
    response = await http.get(f"/api/incidents/{number}/escalations", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_alert_still_firing_pages_only_after_page_after(http, clock, senders, tick):
    opened = clock.now()
    await _post(http, _alert())
    incident = (await http.get("/api/incidents/1", headers=ADMIN)).json()
    assert incident["status"] == "open"  # recorded and visible at once
    ledger = await _steps(http)
    assert ledger["policy"] == "settle"
    assert ledger["steps"][0]["due_at"] == (opened + timedelta(minutes=5)).isoformat()
    await tick(minutes=4, seconds=59)
    assert senders["slack"].sent == []
    await tick(seconds=1)
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS"]
    assert (await _steps(http))["steps"][0]["status"] == "EXECUTED"


async def test_an_alert_that_stopped_firing_before_page_after_pages_nobody(http, clock, senders, tick):
    # am-manual does not resolve incidents when their alerts clear: the incident stays open, unpaged
    await _post(http, _alert(), headers=bearer(MANUAL_TOKEN))
    await tick(minutes=2)
    await _post(http, _alert("resolved", ends="2026-11-22T03:02:00Z"), headers=bearer(MANUAL_TOKEN))
    assert (await http.get("/api/incidents/1", headers=ADMIN)).json()["status"] == "open"
    await tick(minutes=3)
    assert senders["slack"].sent == []
    first = (await _steps(http))["steps"][0]
    assert first["status"] == "SKIPPED" and "page_after" in first["note"]


async def test_an_incident_declared_by_hand_is_not_held_back(http, clock, senders, tick):
    declared = await http.post("/api/incidents", json={"title": "Checkout down", "team": "payments"},
                               headers=ADMIN)
    assert declared.status_code == 201, declared.text
    await tick(seconds=1)
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS"]


@pytest.mark.parametrize("value, message", [("soon", "not a duration"), ("2d", "at most 1d")])
def test_a_bad_page_after_names_the_key(value, message):
    with pytest.raises(PolicyError, match=f"escalation_policies\\[0\\].page_after: .*{message}"):
        parse_policy({**POLICY, "page_after": value}, "escalation_policies[0]", ("slack",))
