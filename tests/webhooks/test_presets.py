"""Each shipped preset, fed the payload its tool sends (shaped as that tool's documentation shows, with the
body docs/webhooks.md tells it to send), fires and then resolves one incident through /webhooks/generic."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
from typing import Any

import pytest

from tests.webhooks.fuzzing import Sample, mutated
from tests.webhooks.support import CONFIG, bearer, configure

TOKEN = "preset-token-0123456789"

#: Zabbix's webhook media type posts the parameters docs/webhooks.md lists, as JSON, from its script;
#: {EVENT.VALUE} is 1 for a problem and 0 for its recovery, whose {EVENT.ID} is still the problem's.
ZABBIX = {"event_id": "31284", "event_value": "1", "event_update_status": "0",
          "event_name": "Zabbix agent is not available (for 3m)", "event_severity": "Disaster",
          "host_name": "db1.example.com", "trigger_id": "23010",
          "event_tags": [{"tag": "team", "value": "payments"}, {"tag": "service", "value": "payments-db"}],
          "event_url": "https://zabbix.example.com/tr_events.php?triggerid=23010&eventid=31284",
          "alert_message": "Problem started at 10:00:00 on 2026.11.22\r\nProblem name: Zabbix agent is not available"}
ZABBIX_RESOLVED = {**ZABBIX, "event_value": "0", "alert_message": "Problem has been resolved at 10:07:00"}

#: Datadog's webhook with the payload docs/webhooks.md gives ($ALERT_TRANSITION is Triggered, then Recovered).
DATADOG = {"id": "7391203512903829012", "alert_id": "98765", "title": "[Triggered on {host:web1}] Checkout latency",
           "alert_title": "Checkout latency high on web1", "transition": "Triggered", "event_type": "query_alert_monitor",
           "priority": "P1", "scope": "host:web1", "hostname": "web1", "tags": "env:prod,team:payments,service:checkout",
           "link": "https://app.datadoghq.com/event/event?id=7391203512903829012",
           "body": "%%%\np95 above 2s\n%%%", "date": "1732269600000", "org": {"id": "11287", "name": "Example"}}
DATADOG_RECOVERED = {**DATADOG, "id": "7391203512903829999", "transition": "Recovered",
                     "title": "[Recovered on {host:web1}] Checkout latency"}

#: Uptime Kuma's webhook (application/json): heartbeat.status 0 down, 1 up; the monitor with its tags.
KUMA_MONITOR = {"id": 12, "name": "Checkout API", "description": None, "pathName": "Checkout API", "parent": None,
                "url": "https://checkout.example.com/health", "method": "GET", "hostname": None, "port": None,
                "type": "http", "interval": 60, "active": True,
                "tags": [{"id": 3, "monitor_id": 12, "tag_id": 2, "name": "team", "value": "payments", "color": "#059669"},
                         {"id": 4, "monitor_id": 12, "tag_id": 5, "name": "severity", "value": "critical",
                          "color": "#DC2626"}]}
KUMA_DOWN = {"heartbeat": {"monitorID": 12, "status": 0, "time": "2026-11-22 10:00:00.123",
                           "msg": "Request failed with status code 503", "important": True, "duration": 60,
                           "timezone": "Europe/Berlin", "timezoneOffset": "+01:00", "localDateTime": "2026-11-22 11:00:00"},
             "monitor": KUMA_MONITOR, "msg": "[Checkout API] [🔴 Down] Request failed with status code 503"}
KUMA_UP = {"heartbeat": {**KUMA_DOWN["heartbeat"], "status": 1, "msg": "200 - OK"}, "monitor": KUMA_MONITOR,
           "msg": "[Checkout API] [✅ Up] 200 - OK"}

#: Sentry's integration platform: an issue alert (Sentry-Hook-Resource: event_alert), then the issue
#: webhook (Sentry-Hook-Resource: issue) when someone resolves the issue.
SENTRY_ALERT = {
    "action": "triggered", "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
    "data": {"event": {"_ref": 1, "_ref_version": 2, "event_id": "e4874d664c3540c1a32eab185f12c5ab",
                       "issue_id": "1117540176", "issue_url": "https://sentry.io/api/0/issues/1117540176/",
                       "url": "https://sentry.io/api/0/projects/example/front-end/events/e4874d664c3540c1a32eab185f12c5ab/",
                       "web_url": "https://sentry.io/organizations/example/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/",
                       "title": "ReferenceError: heck is not defined", "culprit": "?(<anonymous>)", "level": "fatal",
                       "platform": "javascript", "project": 1,
                       "tags": [["browser", "Chrome 75.0.3770"], ["level", "fatal"], ["team", "payments"],
                                ["service", "storefront"]]},
             "triggered_rule": "Send a notification for new issues"},
    "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
}
SENTRY_RESOLVED = {
    "action": "resolved", "actor": {"id": 1, "name": "Ana", "type": "user"},
    "data": {"issue": {"id": "1117540176", "shortId": "FRONT-END-1", "title": "ReferenceError: heck is not defined",
                       "culprit": "?(<anonymous>)", "level": "fatal", "status": "resolved",
                       "statusDetails": {"inNextRelease": True}, "project": {"id": "1", "slug": "front-end"},
                       "web_url": "https://sentry.io/organizations/example/issues/1117540176/"}},
    "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
}

#: New Relic's workflow webhook with its default payload template (state ACTIVATED, then CLOSED).
NEWRELIC = {"id": "0ea2df1c-adab-45d2-aae0-042b609d2322",
            "issueUrl": "https://radar-api.service.newrelic.com/accounts/1/issues/0ea2df1c-adab-45d2-aae0-042b609d2322",
            "title": "Memory Used % > 90 for at least 2 minutes on 'checkout-7f9c'", "priority": "HIGH",
            "impactedEntities": ["checkout-7f9c"], "totalIncidents": 1, "state": "ACTIVATED", "trigger": "STATE_CHANGE",
            "isCorrelated": False, "createdAt": 1732269600000, "updatedAt": 1732269600000, "sources": ["newrelic"],
            "alertPolicyNames": ["Checkout"], "alertConditionNames": ["Memory high"], "workflowName": "Tocsin"}
NEWRELIC_CLOSED = {**NEWRELIC, "state": "CLOSED", "updatedAt": 1732270200000}

CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str, str, str, str, str]] = {
    # preset: firing, resolving, title, severity, team, link text, link URL
    "zabbix": (ZABBIX, ZABBIX_RESOLVED, "Zabbix agent is not available (for 3m) on db1.example.com", "critical",
               "payments", "Zabbix event", ZABBIX["event_url"]),
    "datadog": (DATADOG, DATADOG_RECOVERED, "Checkout latency high on web1", "critical", "payments", "Datadog",
                DATADOG["link"]),
    "uptime_kuma": (KUMA_DOWN, KUMA_UP, "Checkout API is down", "critical", "payments", "Monitored URL",
                    "https://checkout.example.com/health"),
    "sentry": (SENTRY_ALERT, SENTRY_RESOLVED, "ReferenceError: heck is not defined", "critical", "payments", "Sentry",
               SENTRY_ALERT["data"]["event"]["web_url"]),
    "newrelic": (NEWRELIC, NEWRELIC_CLOSED, "Memory Used % > 90 for at least 2 minutes on 'checkout-7f9c'", "high",
                 "platform", "New Relic issue", NEWRELIC["issueUrl"]),
}


def preset_integration(preset: str, **extra: Any) -> dict[str, Any]:
    # the team is the fallback: Zabbix, Datadog, Uptime Kuma and Sentry name theirs in a tag, New Relic does not
    return {"name": preset, "type": "generic", "token": TOKEN, "team": "platform", "preset": preset, **extra}


@pytest.mark.parametrize("preset", sorted(CASES))
async def test_a_preset_fires_and_resolves_from_its_tools_payload(client, container, preset):
    firing, resolving, title, severity, team, link_text, link_url = CASES[preset]
    configure(container, integrations=[*CONFIG["integrations"], preset_integration(preset)])
    response = await client.post("/webhooks/generic", json=copy.deepcopy(firing), headers=bearer(TOKEN))
    assert response.status_code == 200 and response.json()["opened"] == [1], response.json()
    view = await container.queries.get(1)
    assert (view.title, view.severity, view.team.name) == (title, severity, team)
    assert (link_text, link_url) in [(link.label, link.url) for link in view.links]  # the card's link, by name
    assert view.is_open
    response = await client.post("/webhooks/generic", json=copy.deepcopy(resolving), headers=bearer(TOKEN))
    assert response.status_code == 200 and response.json()["resolved"] == 1, response.json()
    assert (await container.queries.get(1)).status == "resolved"


async def test_mutated_tool_payloads_never_get_a_5xx_through_any_preset(client, container):
    """A sender's odd values (NUL, lone surrogates, huge numbers, wrong types) are stored or refused with a
    4xx naming the template, through every preset, never a 5xx."""
    configure(container, integrations=[*CONFIG["integrations"], *(dict(preset_integration(p), name=p, token=f"{p}-{TOKEN}")
                                                                   for p in CASES)])
    pool = [Sample(p, kind, "/webhooks/generic", bearer(f"{p}-{TOKEN}"), body)
            for p, case in sorted(CASES.items()) for kind, body in (("firing", case[0]), ("resolving", case[1]))]
    rng, seen = random.Random(17), set()
    for i in range(200):
        sample = pool[i % len(pool)]
        response = await client.post(sample.path, content=mutated(rng, sample),
                                     headers={**sample.headers, "Content-Type": "application/json"})
        assert response.status_code in (200, 400, 422), (sample.source, response.text)
        seen.add(response.status_code)
    assert {200, 422} <= seen


async def test_sentry_is_authenticated_by_its_own_signature_of_the_body(client, container, clock):
    secret = "sentry-client-secret-0123456789abcdef"
    configure(container, integrations=[*CONFIG["integrations"], preset_integration("sentry", hmac_secret=secret)])
    body = json.dumps(SENTRY_ALERT).encode()
    now = str(int(clock.now().timestamp()))

    def sentry(signature: str, stamp: str = now) -> dict[str, str]:
        return {"Content-Type": "application/json", "Sentry-Hook-Resource": "event_alert",
                "Sentry-Hook-Timestamp": stamp, "Sentry-Hook-Signature": signature}

    good = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    for headers in (sentry("0" * 64), sentry(good, str(int(now) - 600)), sentry("not hex")):
        assert (await client.post("/webhooks/generic", content=body, headers=headers)).status_code == 401
    response = await client.post("/webhooks/generic", content=body, headers=sentry(good))
    assert response.status_code == 200 and response.json()["integration"] == "sentry"
    assert (await container.queries.get(1)).title == "ReferenceError: heck is not defined"
