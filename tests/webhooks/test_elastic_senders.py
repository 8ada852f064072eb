"""Kibana's webhook connector, Elastic APM rules, Watcher and Kibana's PagerDuty connector, as they really send.

Each test takes the configuration docs/webhooks.md tells the user to paste, renders it the way the sender
does (Kibana's mustache escaping, Watcher's ``toJson``, the PagerDuty connector's body), posts it over HTTP
and checks the incident a responder sees.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from storage.queries import IncidentFilter
from tests.webhooks.support import CONFIG, ELASTIC_TOKEN, PD_ROUTING_KEY, bearer, configure

DOCS = Path(__file__).parents[2] / "docs" / "webhooks.md"
KIBANA = "https://kibana.local"


def _section(heading: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def _block(heading: str) -> str:
    """The first JSON block of a section of docs/webhooks.md, as the user pastes it."""
    return re.search(r"```json\n(.*?)```", _section(heading), re.S).group(1)


def _lookup(variables: dict[str, Any], path: str) -> Any:
    value: Any = variables
    for part in path.strip().split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _written(value: Any) -> str:
    """Kibana's mustache: objects are written as JSON, lists joined with commas, missing as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return ",".join(_written(v) for v in value)
    return str(value)


def render_kibana(template: str, variables: dict[str, Any], escape: str = "json") -> str:
    """What Kibana's mustache renderer makes of ``template`` (x-pack actions mustache_renderer): ``{{x}}`` is
    escaped for a JSON string in a webhook body ('none' in other connectors' fields), ``{{{x}}}`` never."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return _written(_lookup(variables, match.group(1)))
        value = _written(_lookup(variables, match.group(2)))
        return json.dumps(value)[1:-1] if escape == "json" else value
    return re.sub(r"\{\{\{(.+?)\}\}\}|\{\{(.+?)\}\}", one, template)


def kibana_variables(rule: dict[str, Any], context: dict[str, Any], action_group: str, alert_id: str,
                     date: str = "2026-11-22T10:00:00.000Z") -> dict[str, Any]:
    recovered = action_group == "recovered"
    return {"rule": {"spaceId": "default", "url": f"{KIBANA}/app/observability/alerts/rules/{rule['id']}", **rule},
            "alert": {"id": alert_id, "uuid": f"uuid-{alert_id}", "actionGroup": action_group,
                      "actionGroupName": "Recovered" if recovered else action_group.title(), "flapping": False},
            "context": context, "date": date, "kibanaBaseUrl": KIBANA}


async def _post_kibana(client, variables: dict[str, Any]):
    body = render_kibana(_block("Kibana webhook connector"), variables)
    return await client.post("/webhooks/elastic", content=body.encode(),
                             headers={**bearer(ELASTIC_TOKEN), "Content-Type": "application/json"})


async def _incidents(container):
    return (await container.queries.list(IncidentFilter()))[0]


def _links(view) -> dict[str, str]:
    return {link.label: link.url for link in view.links}


CPU_RULE = {"id": "7c1e-cpu", "name": "CPU over 90%", "tags": ["severity:critical", "service:checkout", "prod"]}
CPU_CONTEXT = {
    "reason": "system.cpu.total.norm.pct is 95.2% in the last 5 mins for host-1. Alert when > 90%.",
    "alertDetailsUrl": f"{KIBANA}/app/observability/alerts/8d2f",
    "viewInAppUrl": f"{KIBANA}/app/metrics/explorer?host=host-1",
    "value": ["95.2%"], "threshold": ["90%"], "group": [{"field": "host.name", "value": "host-1"}],
    "timestamp": "2026-11-22T09:59:30.000Z",
}


async def test_kibana_webhook_connector_default_body_fires_and_the_recovered_action_resolves(client, container,
                                                                                              changes):
    fired = await _post_kibana(client, kibana_variables(CPU_RULE, CPU_CONTEXT, "custom_threshold.fired", "host-1"))
    assert fired.status_code == 200 and fired.json()["opened"] == [1]
    view = await container.queries.get(1)
    assert view.title == "CPU over 90%: " + CPU_CONTEXT["reason"]
    assert (view.severity, view.service, view.team.name) == ("critical", "checkout", "payments")
    assert _links(view) == {"Source": f"{KIBANA}/app/observability/alerts/8d2f",
                            "Dashboard": f"{KIBANA}/app/metrics/explorer?host=host-1"}
    assert view.alerts[0].labels["tags"] == "severity:critical,service:checkout,prod"
    again = await _post_kibana(client, kibana_variables(CPU_RULE, CPU_CONTEXT, "custom_threshold.fired", "host-1",
                                                        date="2026-11-22T10:01:00.000Z"))
    assert again.json()["deduplicated"] == 1

    recovered = await _post_kibana(client, kibana_variables(CPU_RULE, {}, "recovered", "host-1",
                                                            date="2026-11-22T10:05:00.000Z"))
    assert recovered.status_code == 200 and recovered.json()["resolved"] == 1
    assert (await container.queries.get(1)).status == "resolved"
    await container.bus.drain()
    assert [c.kind for c in changes] == ["declared", "resolved"]


async def test_kibana_query_rule_without_severity_tags_is_medium_and_links_to_the_matching_documents(client,
                                                                                                  container):
    rule = {"id": "q-5xx", "name": "Checkout 5xx", "tags": ["team=payments"]}
    context = {"title": "rule 'Checkout 5xx' matched query", "value": 14,
               "message": "rule 'Checkout 5xx' is active:\n\n- Value: 14\n- Conditions Met: Number of matching "
                          "documents is greater than 10 over 5m\n- Timestamp: 2026-11-22T10:00:00.000Z",
               "link": f"{KIBANA}/app/discover#/view/q-5xx", "hits": [], "conditions": "greater than 10",
               "date": "2026-11-22T10:00:00.000Z"}
    assert (await _post_kibana(client, kibana_variables(rule, context, "query matched", "query matched"))
            ).status_code == 200
    view = await container.queries.get(1)
    assert (view.title, view.severity, view.team.name) == ("Checkout 5xx: rule 'Checkout 5xx' matched query",
                                                           "medium", "payments")
    assert _links(view) == {"Source": f"{KIBANA}/app/observability/alerts/rules/q-5xx",
                            "Dashboard": f"{KIBANA}/app/discover#/view/q-5xx"}
    assert (await _post_kibana(client, kibana_variables(rule, {}, "recovered", "query matched"))
            ).json()["resolved"] == 1


async def test_kibana_severity_from_slo_burn_rate_and_security_rules_without_tags(client, container):
    slo = {"id": "slo-rule", "name": "Checkout availability burn rate", "tags": []}
    slo_context = {"reason": "CRITICAL: The burn rate for the past 1h is 15.2", "burnRateThreshold": 14.4,
                   "alertDetailsUrl": f"{KIBANA}/app/observability/alerts/slo-1"}
    assert (await _post_kibana(client, kibana_variables(slo, slo_context, "slo.burnRate.high", "slo-1"))
            ).status_code == 200
    security = {"id": "sec-rule", "name": "Brute force", "tags": []}
    sec_context = {"rule": {"name": "Brute force", "severity": "critical", "risk_score": 73},
                   "results_link": f"{KIBANA}/app/security/alerts", "alerts": [{"host": {"name": "bastion"}}]}
    assert (await _post_kibana(client, kibana_variables(security, sec_context, "default", ""))).status_code == 200
    severities = {v.title: v.severity for v in await _incidents(container)}
    assert severities == {"Checkout availability burn rate: CRITICAL: The burn rate for the past 1h is 15.2": "high",
                          "Brute force": "critical"}


APM_LATENCY = {"id": "apm-latency", "name": "Latency threshold", "tags": ["severity:high"]}
APM_LATENCY_CONTEXT = {
    "alertDetailsUrl": f"{KIBANA}/app/observability/alerts/a71c",
    "environment": "production", "interval": "5 mins", "serviceName": "checkout", "threshold": 1000,
    "transactionName": "POST /api/cart", "transactionType": "request", "triggerValue": "1,200 ms",
    "reason": "Avg. latency is 1,200 ms in the last 5 mins for service: checkout, env: production, type: request. "
              "Alert when > 1,000 ms.",
    "viewInAppUrl": f"{KIBANA}/app/apm/services/checkout?transactionType=request&environment=production",
}


async def test_apm_latency_rule_is_routed_by_its_service_with_apm_links_and_recovers(client, container):
    variables = kibana_variables(APM_LATENCY, APM_LATENCY_CONTEXT, "threshold_met", "checkout_production_request")
    assert (await _post_kibana(client, variables)).status_code == 200
    view = await container.queries.get(1)
    assert view.title == "Latency threshold: " + APM_LATENCY_CONTEXT["reason"]
    assert (view.severity, view.service, view.team.name) == ("high", "checkout", "payments")
    assert _links(view) == {"Source": f"{KIBANA}/app/observability/alerts/a71c",
                            "Dashboard": APM_LATENCY_CONTEXT["viewInAppUrl"]}
    labels = view.alerts[0].labels
    assert (labels["environment"], labels["transaction_type"], labels["transaction_name"]) == (
        "production", "request", "POST /api/cart")

    recovered_context = {**APM_LATENCY_CONTEXT, "triggerValue": "640 ms",
                         "reason": "Avg. latency is 640 ms in the last 5 mins for service: checkout, env: production,"
                                   " type: request. Alert when > 1,000 ms."}
    recovered = kibana_variables(APM_LATENCY, recovered_context, "recovered", "checkout_production_request",
                                 date="2026-11-22T10:10:00.000Z")
    assert (await _post_kibana(client, recovered)).json()["resolved"] == 1
    assert (await container.queries.get(1)).status == "resolved"


async def test_apm_error_count_rule_for_an_unrouted_service_goes_to_the_integrations_team(client, container):
    rule = {"id": "apm-errors", "name": "Error count threshold", "tags": []}
    context = {"serviceName": "search", "environment": "staging", "errorGroupingKey": "c2e4f1",
               "errorGroupingName": "ConnectionError: index unavailable", "threshold": 25, "triggerValue": 31,
               "interval": "1 min", "reason": "Error count is 31 in the last 1 min for service: search, env: staging."
               " Alert when > 25.", "viewInAppUrl": f"{KIBANA}/app/apm/services/search/errors"}
    assert (await _post_kibana(client, kibana_variables(rule, context, "threshold_met", "search_staging"))
            ).status_code == 200
    view = await container.queries.get(1)
    assert (view.severity, view.service, view.team.name) == ("medium", "search", "platform")
    assert view.alerts[0].labels["error_group"] == "ConnectionError: index unavailable"
    assert _links(view)["Dashboard"] == f"{KIBANA}/app/apm/services/search/errors"


def _watch() -> dict[str, Any]:
    return json.loads(_block("Elastic Watcher"))


def _watcher_ctx(hits: int, when: str) -> dict[str, Any]:
    """The execution context ``{{#toJson}}ctx{{/toJson}}`` writes (Watcher's ctx variables)."""
    return {"id": f"checkout-errors_0-{when}", "watch_id": "checkout-errors", "execution_time": when,
            "trigger": {"triggered_time": when, "scheduled_time": when},
            "metadata": _watch()["metadata"], "vars": {},
            "payload": {"_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                        "hits": {"total": hits, "max_score": None, "hits": []}, "took": 3, "timed_out": False}}


async def _post_watcher(client, action: str, ctx: dict[str, Any]):
    webhook = _watch()["actions"][action]["webhook"]
    body = webhook["body"].replace("{{#toJson}}ctx{{/toJson}}", json.dumps(ctx))
    headers = {**webhook["headers"], **bearer(ELASTIC_TOKEN)}
    return await client.post(webhook["path"], content=body.encode(), headers=headers)


async def test_watcher_webhook_actions_fire_and_resolve_with_the_watch_metadata(client, container):
    fired = await _post_watcher(client, "tocsin_firing", _watcher_ctx(14, "2026-11-22T10:00:00.123456789Z"))
    assert fired.status_code == 200 and fired.json()["opened"] == [1]
    view = await container.queries.get(1)
    assert view.title == "Checkout errors: More than 10 checkout errors in 5 minutes"
    assert (view.severity, view.service, view.team.name) == ("high", "checkout", "payments")
    assert view.alerts[0].starts_at.isoformat() == "2026-11-22T10:00:00.123456+00:00"

    resolved = await _post_watcher(client, "tocsin_resolved", _watcher_ctx(2, "2026-11-22T10:05:00.000Z"))
    assert resolved.status_code == 200 and resolved.json()["resolved"] == 1
    assert (await container.queries.get(1)).status == "resolved"
    again = await _post_watcher(client, "tocsin_resolved", _watcher_ctx(1, "2026-11-22T10:35:00.000Z"))
    assert again.status_code == 200 and again.json()["ignored"] == 1  # as documented: nothing firing to resolve


async def test_watcher_without_metadata_is_titled_after_the_watch_and_its_hits(client, container):
    ctx = _watcher_ctx(7, "2026-11-22T10:00:00Z")
    ctx["metadata"] = {}
    ctx["payload"]["hits"]["total"] = {"value": 7, "relation": "eq"}
    assert (await _post_watcher(client, "tocsin_firing", ctx)).status_code == 200
    view = await container.queries.get(1)
    assert (view.title, view.severity, view.team.name) == ("checkout-errors: 7 hits", "medium", "platform")
    bad = await client.post("/webhooks/elastic", json={"status": "firing", "ctx": {"metadata": {}}},
                            headers=bearer(ELASTIC_TOKEN))
    assert bad.status_code == 400 and bad.json()["detail"] == "ctx.watch_id: required"


def _pagerduty_actions() -> dict[str, tuple[str, str]]:
    """The documented action fields: name -> (trigger action's value, recovered action's value)."""
    rows = re.findall(r"^\|([^|]*)\|([^|]*)\|([^|]*)\|$", _section("Kibana PagerDuty connector"), re.M)
    cells = [[cell.strip() for cell in row] for row in rows]
    return {name: (trigger.strip("`"), resolve.strip("`")) for name, trigger, resolve in cells
            if name not in ("Field", "---")}


def _kibana_pagerduty_body(column: int, variables: dict[str, Any], severity: str, service: str) -> dict[str, Any]:
    """What Kibana's PagerDuty connector posts (stack_connectors pagerduty getBodyForEventAction): no routing_key,
    the fields rendered without escaping; acknowledge and resolve carry only the dedup key."""
    fields = {k: render_kibana(v[column], variables, escape="none") for k, v in _pagerduty_actions().items()}
    action = fields["Event action"].lower()
    body: dict[str, Any] = {"event_action": action, "dedup_key": fields["Dedup key"]}
    if action != "trigger":
        return body
    body["payload"] = {"summary": fields["Summary"], "source": fields["Source"], "severity": severity,
                       "timestamp": fields["Timestamp"], "group": service}
    href, text = (part.strip().strip('"`') for part in fields["Links"].split(","))
    body["links"] = [{"href": href, "text": text}]
    return body


async def test_kibana_pagerduty_connector_triggers_acknowledges_and_resolves_with_pagerdutys_answers(client,
                                                                                                    container):
    section = _section("Kibana PagerDuty connector")
    path = re.search(r"API URL\s+`https://tocsin\.example\.com(/[^`]+)`", section).group(1)
    headers = {"X-Routing-Key": PD_ROUTING_KEY, "Content-Type": "application/json"}
    firing = kibana_variables(APM_LATENCY, APM_LATENCY_CONTEXT, "threshold_met", "checkout_production_request")
    trigger = _kibana_pagerduty_body(0, firing, "error", "checkout")
    assert "routing_key" not in trigger
    response = await client.post(path, json=trigger, headers=headers)
    assert response.status_code == 202
    assert response.json() | {"incidents": None} == {"status": "success", "message": "Event processed",
                                                      "dedup_key": "apm-latency:checkout_production_request",
                                                      "incidents": None}
    view = await container.queries.get(1)
    assert view.title == "Latency threshold: " + APM_LATENCY_CONTEXT["reason"]
    assert (view.severity, view.service, view.team.name) == ("high", "checkout", "payments")
    assert _links(view) == {"Source": f"{KIBANA}/app/observability/alerts/a71c"}

    acknowledge = dict(_kibana_pagerduty_body(1, firing, "error", "checkout"), event_action="acknowledge")
    assert (await client.post(path, json=acknowledge, headers=headers)).status_code == 202
    assert (await container.queries.get(1)).status == "acknowledged"
    recovered = copy.deepcopy(firing)
    recovered["alert"]["actionGroup"] = "recovered"
    resolve = _kibana_pagerduty_body(1, recovered, "error", "checkout")
    assert resolve == {"event_action": "resolve", "dedup_key": "apm-latency:checkout_production_request"}
    answer = await client.post(path, json=resolve, headers=headers)
    assert answer.status_code == 202 and answer.json()["dedup_key"] == "apm-latency:checkout_production_request"
    assert (await container.queries.get(1)).status == "resolved"
    wrong = await client.post(path, json=trigger, headers={**headers, "X-Routing-Key": "not-the-key"})
    assert wrong.status_code == 401 and len(await _incidents(container)) == 1


#: PagerDuty's documented example alert event (Events API v2, "Send an Alert Event"), routing key in the body.
PAGERDUTY_EXAMPLE = {
    "payload": {"summary": "DISK at 99% on machine prod-datapipe03.example.com",
                "timestamp": "2015-07-17T08:42:58.315+0000", "severity": "critical",
                "source": "prod-datapipe03.example.com", "component": "mysql", "group": "prod-datapipe",
                "class": "disk", "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}},
    "routing_key": PD_ROUTING_KEY, "dedup_key": "prod-datapipe03/disk",
    "images": [{"src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
                "href": "https://example.com/", "alt": "Example text"}],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
    "event_action": "trigger", "client": "Sample Monitoring Service", "client_url": "https://monitoring.example.com",
}


async def test_pagerdutys_documented_events_trigger_acknowledge_and_resolve_with_its_answers(client, container):
    response = await client.post("/v2/enqueue", json=PAGERDUTY_EXAMPLE)
    assert response.status_code == 202
    assert response.json() | {"incidents": None} == {"status": "success", "message": "Event processed",
                                                      "dedup_key": "prod-datapipe03/disk", "incidents": None}
    view = await container.queries.get(1)
    assert (view.title, view.severity, view.service, view.team.name) == (
        "DISK at 99% on machine prod-datapipe03.example.com", "critical", "prod-datapipe", "payments")
    assert _links(view) == {"Source": "https://monitoring.example.com"}
    assert view.alerts[0].starts_at.isoformat() == "2015-07-17T08:42:58.315000+00:00"
    for action, status in (("acknowledge", "acknowledged"), ("resolve", "resolved")):
        event = {"routing_key": PD_ROUTING_KEY, "dedup_key": "prod-datapipe03/disk", "event_action": action}
        answer = await client.post("/v2/enqueue", json=event)
        assert answer.status_code == 202 and answer.json()["dedup_key"] == "prod-datapipe03/disk"
        assert (await container.queries.get(1)).status == status
    for action in ("acknowledge", "resolve"):  # PagerDuty accepts them too: nothing to change
        unknown = {"routing_key": PD_ROUTING_KEY, "dedup_key": "never-triggered", "event_action": action}
        answer = await client.post("/v2/enqueue", json=unknown)
        assert answer.status_code == 202 and answer.json()["status"] == "success"
    assert len(await _incidents(container)) == 1


async def test_kibana_connector_with_basic_auth_as_documented(client, container):
    kibana = {"name": "kibana", "type": "elastic", "basic_auth": {"username": "kibana", "password": "kibana-pw-42"},
              "team": "platform"}
    configure(container, integrations=[i for i in CONFIG["integrations"] if i["name"] != "kibana"] + [kibana])
    body = render_kibana(_block("Kibana webhook connector"),
                         kibana_variables(CPU_RULE, CPU_CONTEXT, "custom_threshold.fired", "host-1"))
    headers = {"Content-Type": "application/json"}
    response = await client.post("/webhooks/elastic", content=body.encode(), headers=headers,
                                 auth=("kibana", "kibana-pw-42"))
    assert response.status_code == 200 and response.json()["integration"] == "kibana"
    assert (await container.queries.get(1)).severity == "critical"
    wrong = await client.post("/webhooks/elastic", content=body.encode(), headers=headers, auth=("kibana", "nope"))
    assert wrong.status_code == 401
