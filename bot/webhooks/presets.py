"""Shipped mapping templates (``preset:``) for senders whose JSON is their own, each with a sample payload.

The payloads are the ones docs/webhooks.md tells each tool to send (or the tool's default body); the
sample is what ``tocsin config check`` renders the templates against. Keys of an integration's own
``mapping:`` replace the preset's, so a preset is a starting point, not a cage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    mapping: Mapping[str, Any]
    example: Mapping[str, Any]


ZABBIX = Preset(
    mapping={
        "status": "{{ 'resolved' if payload.event_value | string == '0' else 'firing' }}",
        "title": "{{ payload.event_name }}{% if payload.host_name %} on {{ payload.host_name }}{% endif %}",
        "severity": "{{ payload.event_severity }}",
        "dedup_key": "{% if payload.event_id %}zabbix-{{ payload.event_id }}{% endif %}",
        "team": "{{ payload.event_tags | tag('team') }}",
        "service": "{{ payload.event_tags | tag('service') }}",
        "description": "{{ payload.alert_message }}",
        "links": {"Zabbix event": "{{ payload.event_url }}"},
    },
    example={"event_id": "4242", "event_value": "1", "event_update_status": "0",
             "event_name": "High CPU utilization (over 90% for 5m)", "event_severity": "High",
             "host_name": "web1", "trigger_id": "23010",
             "event_tags": [{"tag": "team", "value": "payments"}, {"tag": "service", "value": "checkout"}],
             "event_url": "https://zabbix.example.com/tr_events.php?triggerid=23010&eventid=4242",
             "alert_message": "Problem started at 10:00:00 on 2026.11.22\nHost: web1\nSeverity: High"},
)

DATADOG = Preset(
    mapping={
        "status": "{{ 'resolved' if payload.transition == 'Recovered' else 'firing' }}",
        "title": "{{ payload.alert_title or payload.title }}",
        "severity": "{{ payload.priority if payload.priority | lower in ('p1', 'p2', 'p3', 'p4', 'p5') "
                    "else ('warning' if 'Warn' in payload.transition else 'error') }}",
        "dedup_key": "{% if payload.alert_id %}datadog-{{ payload.alert_id }}"
                     "{% if payload.scope %}-{{ payload.scope }}{% endif %}{% endif %}",
        "team": "{{ payload.tags | tag('team') }}",
        "service": "{{ payload.tags | tag('service') }}",
        "description": "{{ payload.body }}",
        "links": {"Datadog": "{{ payload.link }}"},
    },
    example={"id": "7391203512903829012", "alert_id": "123456", "title": "[Triggered on {host:web1}] CPU high",
             "alert_title": "CPU high on web1", "transition": "Triggered", "event_type": "query_alert_monitor",
             "priority": "P1", "scope": "host:web1", "hostname": "web1", "tags": "env:prod,service:checkout,team:payments",
             "link": "https://app.datadoghq.com/event/event?id=7391203512903829012", "body": "%%%\nCPU above 90%\n%%%",
             "date": "1732269600000", "org": {"id": "11287", "name": "Example"}},
)

UPTIME_KUMA = Preset(
    mapping={
        # heartbeat.status: 0 down, 1 up, 2 pending, 3 maintenance (maintenance ends the page)
        "status": "{{ 'resolved' if payload.heartbeat.status in (1, 3) else 'firing' }}",
        "title": "{% if payload.monitor.name %}{{ payload.monitor.name }} is down{% else %}{{ payload.msg }}{% endif %}",
        "summary": "{{ payload.heartbeat.msg or payload.msg }}",
        "severity": "{{ payload.monitor.tags | tag('severity') or 'high' }}",
        "dedup_key": "uptime-kuma-{{ payload.monitor.id or payload.heartbeat.monitorID or 'test' }}",
        "team": "{{ payload.monitor.tags | tag('team') }}",
        "service": "{{ payload.monitor.tags | tag('service') }}",
        "links": {"Monitored URL": "{{ payload.monitor.url if payload.monitor.url | length > 8 else '' }}"},
    },
    example={"heartbeat": {"monitorID": 7, "status": 0, "time": "2026-11-22 10:00:00.000",
                           "msg": "connect ECONNREFUSED 10.0.0.7:443", "important": True, "duration": 0,
                           "timezone": "UTC", "timezoneOffset": "+00:00", "localDateTime": "2026-11-22 10:00:00"},
             "monitor": {"id": 7, "name": "Checkout", "url": "https://checkout.example.com/health", "type": "http",
                         "tags": [{"id": 1, "monitor_id": 7, "tag_id": 1, "name": "team", "value": "payments",
                                   "color": "#059669"}]},
             "msg": "[Checkout] [🔴 Down] connect ECONNREFUSED 10.0.0.7:443"},
)

SENTRY = Preset(
    mapping={
        "status": "{{ 'resolved' if payload.action in ('resolved', 'archived', 'ignored') else 'firing' }}",
        "title": "{{ payload.data.event.title or payload.data.issue.title or payload.data.description_title }}",
        "severity": "{{ payload.data.event.level or payload.data.issue.level or payload.action }}",
        "dedup_key": "{% set id = payload.data.event.issue_id or payload.data.issue.id or "
                     "payload.data.metric_alert.id %}{% if id %}sentry-{{ id }}{% endif %}",
        "team": "{{ payload.data.event.tags | tag('team') }}",
        "service": "{{ payload.data.event.tags | tag('service') }}",
        "summary": "{{ payload.data.event.culprit or payload.data.issue.culprit or payload.data.description_text }}",
        "links": {"Sentry": "{{ payload.data.event.web_url or payload.data.issue.web_url or payload.data.web_url }}"},
    },
    example={"action": "triggered", "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
             "data": {"event": {"event_id": "e4874d664c3540c1a32eab185f12c5ab", "issue_id": "1117540176",
                                "issue_url": "https://sentry.io/api/0/issues/1117540176/",
                                "web_url": "https://sentry.io/organizations/example/issues/1117540176/events/e48/",
                                "title": "ReferenceError: heck is not defined", "culprit": "?(<anonymous>)",
                                "level": "error", "tags": [["level", "error"], ["team", "payments"]]},
                      "triggered_rule": "Send a notification for new issues"},
             "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}},
)

NEWRELIC = Preset(
    mapping={
        "status": "{{ 'resolved' if payload.state | upper in ('CLOSED', 'RESOLVED') else 'firing' }}",
        "title": "{{ payload.title }}",
        "severity": "{{ payload.priority }}",
        "dedup_key": "{% if payload.id %}newrelic-{{ payload.id }}{% endif %}",
        "service": "{{ payload.impactedEntities | first if payload.impactedEntities else '' }}",
        "summary": "{{ payload.alertConditionNames | join(', ') if payload.alertConditionNames else payload.title }}",
        "links": {"New Relic issue": "{{ payload.issueUrl }}"},
    },
    example={"id": "d1b1f3fd-995a-4066-88ab-8ce4f6960654",
             "issueUrl": "https://radar-api.service.newrelic.com/accounts/1/issues/d1b1f3fd",
             "title": "Memory Used % > 90 for at least 2 minutes on 'checkout'", "priority": "CRITICAL",
             "impactedEntities": ["checkout"], "totalIncidents": 1, "state": "ACTIVATED", "trigger": "STATE_CHANGE",
             "isCorrelated": False, "createdAt": 1732269600000, "updatedAt": 1732269600000, "sources": ["newrelic"],
             "alertPolicyNames": ["Checkout"], "alertConditionNames": ["Memory high"], "workflowName": "Tocsin"},
)

PRESETS: dict[str, Preset] = {"zabbix": ZABBIX, "datadog": DATADOG, "uptime_kuma": UPTIME_KUMA, "sentry": SENTRY,
                              "newrelic": NEWRELIC}
