"""Maintenance windows (issue 16, item 2): alerts arriving while a window covers them are recorded and
visible but page nobody; when the window ends, what still fires pages, and what cleared stays quiet.

Through the sidecar's webhook route and the REST API, on a fake clock, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import config_file
from tests.escalation.conftest import ticker
from tests.webhooks.support import (
    AM,
    API_TOKENS,
    CONFIG,
    MANUAL_TOKEN,
    bearer,
    client_for,
    configure,
    sidecar_app,
)

ADMIN = bearer(API_TOKENS["admin"])
LEAD_TOKEN = "api-team-lead-person-token"
LEAD, RESPONDER = bearer(LEAD_TOKEN), bearer(API_TOKENS["responder"])
POLICY = {"name": "now", "steps": [{"after": "0s", "notify": ["team_channel"], "channels": ["slack"]},
                                   {"after": "10m", "notify": ["role:team_lead"], "channels": ["slack"]}]}


def _alert(status="firing", name="DiskFull", team="payments", fingerprint="disk1", **labels):
    return {"version": "4", "status": status, "groupKey": f'{{}}:{{alertname="{name}"}}', "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "truncatedAlerts": 0,
            "alerts": [{"status": status, "labels": {"alertname": name, "team": team, **labels},
                        "annotations": {"summary": name}, "startsAt": "2026-11-22T02:59:00Z",
                        "endsAt": "2026-11-22T03:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                        "fingerprint": fingerprint}]}


@pytest.fixture
async def http(container, people, clock, paging):
    tokens = [*CONFIG["api_tokens"], {"name": "lead", "token": LEAD_TOKEN, "person": "team_lead@example.com"}]
    configure(container, escalation_policies=[POLICY], api_tokens=tokens,
              teams=[{"name": "payments", "slack_channel": "CPAYMENTS", "escalation_policy": "now"},
                     {"name": "platform", "slack_channel": "CPLATFORM", "escalation_policy": "now"}])
    await config_file.apply(container.db, container.config, clock.now(), runtime=False)
    async with client_for(sidecar_app(container), container) as client:
        yield client


async def _post(http, payload, headers=AM):
    response = await http.post("/webhooks/alertmanager", json=payload, headers=headers)
    assert response.status_code == 200, response.text


async def _open(http, headers=ADMIN, status=201, **body):
    response = await http.post("/api/maintenance", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def _paged(senders):
    return [s.destination.address for s in senders["slack"].sent]


async def _timeline(http, number=1):
    incident = (await http.get(f"/api/incidents/{number}", headers=ADMIN)).json()
    return incident, [e["text"] for e in incident["timeline"] if e["kind"] == "maintenance"]


async def _until(http, number=1):
    incident = (await http.get(f"/api/incidents/{number}", headers=ADMIN)).json()
    return [e["data"]["until"] for e in incident["timeline"] if e["kind"] == "maintenance"]


async def test_an_alert_in_a_team_window_is_recorded_but_pages_only_after_the_window(http, clock, senders, tick):
    window = (await _open(http, LEAD, team="payments", duration="2h", reason="db upgrade"))["window"]
    assert window["team"] == "payments" and window["created_by"] == "Team Lead"
    await _post(http, _alert())
    await tick(seconds=1)
    incident, said = await _timeline(http)
    assert incident["status"] == "open"  # recorded and visible
    assert said == [f"in maintenance window #{window['id']} until 2026-11-22 05:00 UTC (db upgrade): "
                    "nobody is paged while it lasts"]
    assert await _until(http) == [window["ends_at"]]
    await tick(minutes=59)
    await tick(minutes=59)
    assert _paged(senders) == []
    assert len((await _timeline(http))[1]) == 1  # said once, however often the steps were checked
    for _ in range(3):  # checked again every 30 s, as the engine does
        await tick(seconds=30)
    assert _paged(senders) == []
    await tick(seconds=30)  # the window is over and the alert still fires: its escalation starts now
    assert _paged(senders) == ["CPAYMENTS"]


async def test_an_alert_that_cleared_during_the_window_stays_quiet(http, clock, senders, tick):
    await _open(http, LEAD, team="payments", duration="1h")
    # am-manual does not resolve incidents when their alerts clear: the incident stays open
    await _post(http, _alert(), headers=bearer(MANUAL_TOKEN))
    await tick(minutes=10)
    await _post(http, _alert("resolved"), headers=bearer(MANUAL_TOKEN))
    await tick(minutes=51)
    await tick(minutes=10)
    assert _paged(senders) == []
    steps = (await http.get("/api/incidents/1/escalations", headers=ADMIN)).json()["steps"]
    assert {s["status"] for s in steps} == {"SKIPPED"} and "no alert of the incident still fires" in steps[0]["note"]


async def test_other_teams_and_manual_incidents_page_as_usual(http, clock, senders, tick):
    await _open(http, LEAD, team="payments", duration="1h")
    await _post(http, _alert(team="platform", name="CpuHigh", fingerprint="cpu1"))
    declared = await http.post("/api/incidents", json={"title": "Checkout down", "team": "payments"}, headers=ADMIN)
    assert declared.status_code == 201, declared.text
    await tick(seconds=1)
    assert sorted(_paged(senders)) == ["CPAYMENTS", "CPLATFORM"]


async def test_ending_a_window_early_lets_paging_resume_within_30s(container, http, clock, senders):
    tick = ticker(container, clock)  # another process's engine: the window is read from the database
    window = (await _open(http, LEAD, team="payments", duration="4h"))["window"]
    await _post(http, _alert())
    await tick(seconds=1)
    await tick(minutes=5)
    assert _paged(senders) == []
    ended = await http.delete(f"/api/maintenance/{window['id']}", headers=LEAD)
    assert ended.status_code == 200 and ended.json()["window"]["ended_at"] == clock.now().isoformat()
    assert (await http.get("/api/maintenance", headers=ADMIN)).json()["windows"] == []
    await tick(seconds=30)
    assert _paged(senders) == ["CPAYMENTS"]


async def test_a_scheduled_window_by_labels_holds_only_while_it_lasts(http, clock, senders, tick):
    start = clock.now() + timedelta(hours=1)
    await _open(http, ADMIN, labels={"env": "staging"}, start=start.isoformat(),
                end=(start + timedelta(hours=1)).isoformat())
    listed = (await http.get("/api/maintenance", headers=RESPONDER)).json()["windows"]
    assert [(w["labels"], w["starts_at"]) for w in listed] == [({"env": "staging"}, start.isoformat())]
    await _post(http, _alert(env="staging"))  # before the window: pages at once
    await tick(seconds=1)
    assert _paged(senders) == ["CPAYMENTS"]
    await tick(hours=1)
    await _post(http, _alert(name="CpuHigh", fingerprint="cpu1", env="staging"))
    await _post(http, _alert(name="MemHigh", fingerprint="mem1", env="production"))
    await tick(seconds=1)
    assert _paged(senders) == ["CPAYMENTS", "CPAYMENTS"]  # the production one only
    assert (await _timeline(http, 2))[1] and not (await _timeline(http, 3))[1]


async def test_who_may_open_and_end_windows(http):
    refused = await _open(http, RESPONDER, status=403, team="payments", duration="1h")
    assert "team_lead or above" in refused["detail"]
    refused = await _open(http, LEAD, status=403, service="checkout", duration="1h")
    assert "needs an admin" in refused["detail"]
    await _open(http, ADMIN, duration="1h", reason="everything")  # global: admins
    window = (await _open(http, LEAD, team="payments", duration="1h"))["window"]
    ended = await http.delete(f"/api/maintenance/{window['id']}", headers=RESPONDER)
    assert ended.status_code == 403, ended.text


@pytest.mark.parametrize("body, message", [
    ({"team": "payments"}, "end or duration: give exactly one"),
    ({"team": "payments", "duration": "soon"}, "duration: 'soon' is not like 30m"),
    ({"team": "payments", "start": "tomorrow", "duration": "1h"}, "start: 'tomorrow' is not an ISO time"),
    ({"team": "payments", "start": "2026-11-22T05:00:00Z", "end": "2026-11-22T04:00:00Z"}, "give the start first"),
    ({"team": "payroll", "duration": "1h"}, "there is no team 'payroll'"),
    ({"labels": {"env": 3}, "duration": "1h"}, "labels: expected an object"),
    ({"team": "payments", "duration": "30d"}, "at most 14 days"),
])
async def test_a_bad_window_is_refused_naming_what_to_fix(http, body, message):
    refused = await http.post("/api/maintenance", json=body, headers=ADMIN)
    assert refused.status_code in (400, 404) and message in refused.json()["detail"], refused.text


async def test_ending_an_unknown_window_is_404(http):
    response = await http.delete("/api/maintenance/99", headers=ADMIN)
    assert response.status_code == 404 and "no maintenance window 99" in response.json()["detail"]
