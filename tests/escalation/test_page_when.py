""""Page only when N alerts arrive within W" (issue 16, item 3): a policy's ``page_when: {alerts: 3, within:
10m}`` pages an alert-born incident once three of its alerts arrived within ten minutes; until then the
incident is open and visible, and nobody is paged.

Through the sidecar's webhook route and the incident API, on a fake clock, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from bot import config_file
from escalation.policy import PolicyError, parse_policy
from tests.webhooks.support import AM, API_TOKENS, bearer, client_for, configure, sidecar_app

ADMIN = bearer(API_TOKENS["admin"])
POLICY = {"name": "burst", "page_when": {"alerts": 3, "within": "10m"},
          "steps": [{"after": "0s", "notify": ["team_channel"], "channels": ["slack"]}]}


def _alert(fingerprint: str, instance: str):
    """One alert of the group DiskFull (one incident), on ``instance``."""
    return {"version": "4", "status": "firing", "groupKey": '{}:{alertname="DiskFull"}', "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "team": "payments",
                                                        "instance": instance},
                        "annotations": {"summary": "Disk full"}, "startsAt": "2026-11-22T02:59:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fingerprint}]}


@pytest.fixture
async def http(container, people, clock, paging):
    configure(container, escalation_policies=[POLICY],
              teams=[{"name": "payments", "slack_channel": "CPAYMENTS", "escalation_policy": "burst"},
                     {"name": "platform"}])
    await config_file.apply(container.db, container.config, clock.now(), runtime=False)
    async with client_for(sidecar_app(container), container) as client:
        yield client


async def _post(http, fingerprint, instance="web1"):
    response = await http.post("/webhooks/alertmanager", json=_alert(fingerprint, instance), headers=AM)
    assert response.status_code == 200, response.text


def _paged(senders):
    return [s.destination.address for s in senders["slack"].sent]


async def test_the_third_alert_within_ten_minutes_pages(http, clock, senders, tick):
    await _post(http, "a1", "web1")
    await tick(seconds=1)
    incident = (await http.get("/api/incidents/1", headers=ADMIN)).json()
    assert incident["status"] == "open" and incident["alerts"]["firing"] == 1  # recorded and visible
    steps = (await http.get("/api/incidents/1/escalations", headers=ADMIN)).json()["steps"]
    assert steps[0]["status"] == "PENDING" and steps[0]["note"].startswith("page_when: 1 of 3 alerts within 10m")
    await tick(minutes=4)
    await _post(http, "a2", "web2")
    await tick(seconds=30)
    await _post(http, "a1", "web1")  # the same alert again is not another one
    await tick(seconds=30)
    assert _paged(senders) == []
    await tick(minutes=4)
    await _post(http, "a3", "web3")
    await tick(seconds=30)
    assert _paged(senders) == ["CPAYMENTS"]
    assert (await http.get("/api/incidents/1", headers=ADMIN)).json()["status"] == "escalating"


async def test_alerts_further_apart_than_the_window_page_nobody(http, clock, senders, tick):
    for i in range(4):
        await _post(http, f"a{i}", f"web{i}")
        for _ in range(12):  # six minutes apart, checked every 30 s
            await tick(seconds=30)
    assert _paged(senders) == []
    assert (await http.get("/api/incidents/1", headers=ADMIN)).json()["alerts"]["firing"] == 4


@pytest.mark.parametrize("value, key, message", [
    ({"alerts": 1, "within": "10m"}, "page_when.alerts", "from 2 to 1000"),
    ({"alerts": 3}, "page_when.within", "required"),
    ({"alerts": 3, "within": "2d"}, "page_when.within", "from 1s to 1d"),
    ({"alerts": 3, "within": "10m", "count": 2}, "page_when", "alerts: N, within: W"),
])
def test_a_bad_page_when_names_the_key(value, key, message):
    with pytest.raises(PolicyError, match=f"escalation_policies\\[0\\].{key}: .*{message}"):
        parse_policy({**POLICY, "page_when": value}, "escalation_policies[0]", ("slack",))


def test_a_bad_page_when_is_refused_by_config_check():
    with pytest.raises(config_file.ConfigError, match=r"escalation_policies\[0\].page_when.alerts"):
        config_file.parse({"escalation_policies": [{**POLICY, "page_when": {"alerts": "many", "within": "1m"}}]},
                          env={})
