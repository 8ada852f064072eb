"""The OpenAPI 3.1 description of every route the sidecar serves (a test keeps it true)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.api.params import (
    COLUMN_LIMITS,
    MAX_INCIDENT,
    MAX_OFFSET,
    NOTIFICATION_STATUS_WORDS,
    PERSON_PATTERN,
    WINDOW_PATTERN,
)
from bot.platforms import CHANNELS
from bot.webhooks.elastic import FIRING_WORDS, RESOLVED_WORDS
from bot.webhooks.generic import ACTIONS as GENERIC_ACTIONS
from bot.webhooks.pagerduty import ACTIONS as PAGERDUTY_ACTIONS
from storage.states import Severity, Status

Doc = dict[str, Any]


def _ref(name: str) -> Doc:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Doc, description: str) -> Doc:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> Doc:
    words = {400: "Invalid input (the detail names the field)", 401: "Missing or unknown token",
             403: "The token's person or role may not do this", 404: "No such incident (or team, or person)",
             409: "The incident's state does not allow it", 413: "Body over TOCSIN_MAX_BODY_BYTES",
             415: "Content-Type is not application/json",
             422: "The integration's mapping templates could not read the body (kept; the detail names the template)",
             503: "Database unavailable; retry"}
    return {str(s): _json(_ref("Error"), words[s]) for s in statuses}


def _body(schema: Doc, required: bool = True) -> Doc:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: Doc, description: str) -> Doc:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


INCIDENT_NUMBER = {"type": "integer", "minimum": 1, "maximum": MAX_INCIDENT}
NUMBER = {"name": "number", "in": "path", "required": True, "schema": INCIDENT_NUMBER,
          "description": "The incident number (#42 is 42)"}
ROW_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1},
          "description": "The number the list shows"}
API_ERRORS = (400, 401, 403, 503)
ACTION_ERRORS = (*API_ERRORS, 404, 409, 413, 415)
WEBHOOK_ERRORS = (400, 401, 413, 415, 503)
TEXT = {"type": "string"}
#: A sender's text field (bot/webhooks/shape.text): a string or a number; null or "" is "not given".
FIELD = {"type": ["string", "number", "null"]}
REQUIRED_FIELD = {"type": ["string", "number"], "pattern": "[^\\x00]"}
WRITTEN_URL = {"type": "string", "pattern": "[^\\x00]"}
#: An RFC 3339 time; "" (and Alertmanager's zero time) mean "not set".
TIME = {"anyOf": [{"type": "string", "format": "date-time"}, {"enum": ["", None]}]}
LABELS = {"type": ["object", "null"], "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
FREE_OBJECT = {"type": ["object", "null"], "description": "Any JSON object, kept with the alert"}
PAYLOAD = {"type": "object", "required": ["summary", "source"], "properties": {
    "summary": REQUIRED_FIELD, "source": REQUIRED_FIELD, "severity": FIELD, "timestamp": TIME, "component": FIELD,
    "group": FIELD, "class": FIELD, "custom_details": {"description": "Any JSON, kept with the alert"}}}
#: Text a person writes: at least one character besides spaces and NUL (which is dropped).
WRITTEN = {"type": "string", "pattern": "[^\\s\\x00]"}
#: A free-text filter: the database refuses NUL.
FILTER = {"type": "string", "pattern": "^[^\\x00]*$"}
OPTIONAL = {"type": ["string", "null"]}
OBJECT = {"type": "object", "additionalProperties": True}
SEVERITIES = [s.value for s in Severity]
_STATUS = f"({'|'.join(['active', *(s.value for s in Status)])})"
STATUS_LIST = {"type": "string", "pattern": f"^{_STATUS}(,{_STATUS})*$"}


def _when_status(values: list[str], field: str, then: list[str], otherwise: list[str]) -> Doc:
    """Required fields that depend on the action: ``then`` when ``field`` is one of ``values``."""
    def need(names: list[str]) -> Doc:
        return {"required": names, "properties": {n: PAYLOAD if n == "payload" else REQUIRED_FIELD for n in names}}
    return {"if": {"required": [field], "properties": {field: {"enum": values}}}, "then": need(then),
            "else": need(otherwise)}


def _action(summary: str, field: str | None = None, required: bool = False, status: str = "200") -> Doc:
    operation: Doc = {"summary": summary, "tags": ["incidents"], "security": [{"apiToken": []}],
                      "parameters": [NUMBER],
                      "responses": {status: _json(_ref("ActionResult"), "The incident after the action; changed "
                                                  "is false for a repeat"), **_errors(*ACTION_ERRORS)}}
    if field:
        schema = {"type": "object", "properties": {field: WRITTEN if required else OPTIONAL},
                  "required": [field] if required else []}
        operation["requestBody"] = _body(schema, required)
    return {"post": operation}


def _webhook(summary: str, schema: Doc, security: list[Doc], status: str = "200",
             errors: tuple[int, ...] = WEBHOOK_ERRORS) -> Doc:
    return {"post": {"summary": summary, "tags": ["webhooks"], "security": security,
                     "requestBody": _body(schema),
                     "responses": {status: _json(_ref("IngestResult"), "Stored, or a repeat of what was stored"),
                                   **_errors(*errors)}}}


_SHIFT = {"type": ["object", "null"], "properties": {
    "who": {"type": ["string", "null"]}, "start": {"type": "string", "format": "date-time"},
    "end": {"type": "string", "format": "date-time"}, "layer": {"type": ["string", "null"]}}}

_PAGERDUTY_EVENT: Doc = {"post": {
    "summary": "PagerDuty Events API v2 (routing_key is the integration's token, in the body or X-Routing-Key)",
    "tags": ["webhooks"], "security": [], "requestBody": _body({"$ref": "#/components/schemas/PagerDutyEvent"}),
    "responses": {"202": _json({"type": "object", "properties": {"status": TEXT, "message": TEXT,
                                                                 "dedup_key": TEXT}}, "Event processed"),
                  **_errors(*WEBHOOK_ERRORS)}}}

SCHEMAS: Doc = {
    "OncallSchedule": {"type": "object", "properties": {
        "schedule": TEXT, "team": {"type": ["string", "null"]}, "timezone": TEXT, "now": _SHIFT, "next": _SHIFT,
        "shifts": {"type": "array", "items": _SHIFT}}},
    "OncallOverride": {"type": "object", "properties": {
        "id": {"type": "integer"}, "schedule": TEXT, "person": TEXT, "for": {"type": ["string", "null"]},
        "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
        "created_by": TEXT, "cancelled_at": {"type": "string", "format": "date-time"}}},
    "OncallOffer": {"type": "object", "properties": {
        "id": {"type": "integer"}, "schedule": TEXT, "person": TEXT,
        "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
        "created_by": TEXT, "cancelled_at": {"type": "string", "format": "date-time"}}},
    "MaintenanceWindow": {"type": "object", "properties": {
        "id": {"type": "integer"}, "team": {"type": ["string", "null"]}, "service": {"type": ["string", "null"]},
        "labels": {"type": "object", "additionalProperties": TEXT},
        "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
        "reason": {"type": ["string", "null"]}, "created_by": TEXT, "source": TEXT,
        "ended_at": {"type": ["string", "null"], "format": "date-time"}}},
    "Error": {"type": "object", "required": ["error", "detail"],
              "properties": {"error": TEXT, "detail": TEXT}},
    "Incident": {"type": "object", "properties": {
        "number": {"type": "integer"}, "title": TEXT, "description": {"type": ["string", "null"]},
        "status": {"enum": ["open", "escalating", "acknowledged", "resolved", "cancelled"]},
        "severity": {"enum": ["critical", "high", "medium", "low"]}, "service": {"type": ["string", "null"]},
        "team": {"type": ["string", "null"]}, "labels": OBJECT, "dedup_key": {"type": ["string", "null"]},
        "source": TEXT, "created_at": {"type": "string", "format": "date-time"},
        "alerts": {"type": "object", "properties": {"firing": {"type": "integer"}, "resolved": {"type": "integer"},
                                                    "truncated": {"type": "integer"}, "more": TEXT}},
        "links": {"type": "array", "items": OBJECT}}},
    "IncidentDetail": {"allOf": [_ref("Incident"), {"type": "object", "properties": {
        "alert_list": {"type": "array", "items": _ref("Alert")},
        "timeline": {"type": "array", "items": _ref("TimelineEntry")}}}]},
    "Alert": {"type": "object", "properties": {
        "fingerprint": TEXT, "status": {"enum": ["firing", "resolved"]}, "name": TEXT, "summary": TEXT,
        "labels": OBJECT, "starts_at": TEXT, "ends_at": {"type": ["string", "null"]},
        "occurrence_count": {"type": "integer"}, "last_seen_at": TEXT}},
    "TimelineEntry": {"type": "object", "properties": {"kind": TEXT, "at": TEXT, "actor": TEXT, "source": TEXT,
                                                       "text": {"type": ["string", "null"]}, "data": OBJECT}},
    "ActionResult": {"type": "object", "properties": {"incident": _ref("Incident"), "changed": {"type": "boolean"},
                                                      "message": TEXT}},
    "Durations": {"type": "object", "properties": {"count": {"type": "integer"},
                                                   "mtta_seconds": {"type": ["number", "null"]},
                                                   "mttr_seconds": {"type": ["number", "null"]}}},
    "Stats": {"type": "object", "properties": {
        "window": TEXT, "since": TEXT, "team": {"type": ["string", "null"]}, "overall": _ref("Durations"),
        "by_team": {"additionalProperties": _ref("Durations")},
        "by_service": {"additionalProperties": _ref("Durations")},
        "by_severity": {"additionalProperties": _ref("Durations")},
        "counts": {"type": "object", "properties": {"by_status": OBJECT, "by_severity": OBJECT}}}},
    "Notification": {"type": "object", "properties": {
        "id": {"type": "integer"}, "incident": {"type": "integer"}, "kind": {"enum": ["page", "notice"]},
        "reason": {"type": "string", "description": "step:<repeat>:<step>, overdue:<repeat>:<step>, or the "
                                                   "closing notice's reason"},
        "target": {"type": "string", "description": "team_channel, role:<role>, person:<email> or assignee"},
        "person_id": {"type": ["integer", "null"]}, "channel": {"enum": ["slack", "telegram", "email", "webhook"]},
        "address": TEXT, "status": {"enum": ["PENDING", "SENT", "FAILED", "CANCELLED"]},
        "attempts": {"type": "integer"}, "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "sent_at": {"type": ["string", "null"], "format": "date-time"}, "last_error": {"type": ["string", "null"]},
        "reference": {"type": ["string", "null"]}, "thread": {"type": ["string", "null"]},
        "note": {"type": ["string", "null"]}, "created_at": {"type": "string", "format": "date-time"}}},
    "EscalationStep": {"type": "object", "properties": {
        "repeat": {"type": "integer"}, "step": {"type": "integer", "description": "0-based; level is step + 1"},
        "level": {"type": "integer"}, "status": {"enum": ["PENDING", "EXECUTED", "CANCELLED", "SKIPPED", "FAILED"]},
        "scheduled_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": "string", "format": "date-time", "description": "Moves only when a snooze holds the step"},
        "executed_at": {"type": ["string", "null"], "format": "date-time"},
        "late_by_seconds": {"type": ["number", "null"], "description": "null when run early by hand"},
        "executed_by": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]},
        "targets": {"type": "array", "items": TEXT, "description": "Whom the policy names for the step now"},
        "channels": {"type": "array", "items": TEXT},
        "notifications": {"type": "array", "items": _ref("Notification")}}},
    "Escalations": {"type": "object", "properties": {
        "incident": {"type": "integer"}, "policy": {"type": ["string", "null"]},
        "level": {"type": "integer", "description": "The last level that paged (0: none yet)"},
        "steps": {"type": "array", "items": _ref("EscalationStep")}}},
    "IngestResult": {"type": "object", "properties": {
        "status": TEXT, "integration": TEXT, "incidents": {"type": "array", "items": {"type": "integer"}},
        "opened": {"type": "array", "items": {"type": "integer"}}, "fired": {"type": "integer"},
        "resolved": {"type": "integer"}, "deduplicated": {"type": "integer"}, "stale": {"type": "integer"},
        "ignored": {"type": "integer"}}},
    "AlertmanagerWebhook": {"type": "object", "required": ["alerts"], "properties": {
        "groupKey": FIELD, "truncatedAlerts": {"type": ["integer", "null"], "minimum": 0}, "groupLabels": LABELS,
        "commonAnnotations": FREE_OBJECT,
        "alerts": {"type": "array", "items": {"type": "object", "required": ["status"], "properties": {
            "status": {"enum": ["firing", "resolved"]}, "labels": LABELS, "annotations": FREE_OBJECT,
            "startsAt": TIME, "endsAt": TIME, "generatorURL": FIELD, "fingerprint": FIELD, "valueString": FIELD,
            "dashboardURL": FIELD, "panelURL": FIELD, "silenceURL": FIELD}}}}},
    "ElasticWebhook": {"type": "object", "properties": {
        "status": {"enum": [*sorted(RESOLVED_WORDS | FIRING_WORDS), None],
                   "description": "Watcher; without it, alert.actionGroup (recovered or any other)"},
        "reason": FIELD, "date": TIME, "severity": FIELD, "service": FIELD, "team": FIELD, "environment": FIELD,
        "details": {"description": "Any JSON, kept with the alert"}},
        "oneOf": [
            {"description": "Kibana's webhook connector: the documented body of rule variables",
             "required": ["rule"], "properties": {
                 "rule": {"type": "object", "required": ["id"], "properties": {
                     "id": REQUIRED_FIELD, "name": FIELD, "url": FIELD, "spaceId": FIELD,
                     "tags": {"type": ["array", "string", "number", "null"], "description": "A list, or a,b,c"}}},
                 "alert": {"type": ["object", "null"], "properties": {
                     "id": FIELD, "actionGroup": FIELD, "action_group": FIELD}},
                 "context": {"description": "The rule type's context ({{{context}}}): any JSON, read where it "
                                            "is an object"}}},
            {"description": "Watcher's webhook action: {status, ctx: {{#toJson}}ctx{{/toJson}}}",
             "required": ["ctx"], "not": {"required": ["rule"]}, "properties": {
                 "ctx": {"type": "object", "required": ["watch_id"], "properties": {
                     "watch_id": REQUIRED_FIELD,
                     "metadata": {"description": "name, summary, severity, service, team, ... (any JSON)"},
                     "payload": {"description": "Any JSON, kept with the alert"}}}}}]},
    "GenericWebhook": {"type": "object", "properties": {
        "title": FIELD, "severity": FIELD, "service": FIELD, "team": FIELD, "dedup_key": FIELD,
        "status": {"enum": [*GENERIC_ACTIONS, None]}, "details": FREE_OBJECT, "labels": LABELS, "timestamp": TIME,
        "links": {"type": ["array", "null"], "items": {"oneOf": [WRITTEN_URL, {
            "type": "object", "required": ["href"], "properties": {"text": FIELD, "href": REQUIRED_FIELD}}]}}},
        "allOf": [_when_status(["resolve", "resolved"], "status", then=["dedup_key"], otherwise=["title"])]},
    "PagerDutyEvent": {"type": "object", "required": ["routing_key", "event_action"], "properties": {
        "routing_key": REQUIRED_FIELD, "event_action": {"enum": list(PAGERDUTY_ACTIONS)}, "dedup_key": FIELD,
        "links": {"type": ["array", "null"], "items": {"type": "object", "properties": {"href": FIELD}}},
        "client_url": FIELD},
        "allOf": [_when_status(["trigger"], "event_action", then=["payload"], otherwise=["dedup_key"])]},
    "PagerDutyChange": {"type": "object", "required": ["routing_key", "payload"], "properties": {
        "routing_key": {**REQUIRED_FIELD, "maxLength": 200},
        "payload": {"type": "object", "required": ["summary"], "properties": {
            "summary": {**REQUIRED_FIELD, "maxLength": 1024}, "source": {**FIELD, "maxLength": 200},
            "timestamp": {"anyOf": [{"type": "string", "format": "date-time"}, {"enum": ["", None]}]},
            "custom_details": {}}},
        "links": {"type": ["array", "null"], "items": {"type": "object", "required": ["href"], "properties": {
            "href": REQUIRED_FIELD, "text": FIELD}}}}},
}

OFFSET = _query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "Page start")
INCIDENT = _query("incident", INCIDENT_NUMBER, "Only this incident's")
TIME_FILTER = {"anyOf": [{"type": "string", "format": "date-time"}, {"enum": [""]}]}
LIST_PARAMS = [
    _query("status", STATUS_LIST, "Comma-separated statuses; 'active' means open, escalating and acknowledged"),
    _query("severity", {"enum": SEVERITIES}, "Only this severity"),
    _query("team", FILTER, "Team name"), _query("service", FILTER, "Service name"),
    _query("q", FILTER, "A part of the title, any case (% and _ are plain characters)"),
    _query("opened_from", TIME_FILTER, "Opened at or after this RFC 3339 time"),
    _query("opened_to", TIME_FILTER, "Opened before this RFC 3339 time"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
    OFFSET,
]
TOKEN = [{"apiToken": []}]
INTEGRATION = [{"integrationToken": []}, {"integrationBasic": []}]

PATHS: Doc = {
    "/api/incidents": {
        "get": {"summary": "List incidents, newest first", "tags": ["incidents"], "security": TOKEN,
                "parameters": LIST_PARAMS,
                "responses": {"200": _json({"type": "object", "properties": {
                    "incidents": {"type": "array", "items": _ref("Incident")}, "total": {"type": "integer"}}},
                    "A page of incidents and how many match in all"), **_errors(*API_ERRORS)}},
        "post": {"summary": "Declare an incident", "tags": ["incidents"], "security": TOKEN,
                 "requestBody": _body({"type": "object", "required": ["title"], "properties": {
                     "title": WRITTEN, "severity": {"enum": [*SEVERITIES, None]},
                     "service": {**OPTIONAL, "maxLength": COLUMN_LIMITS["service"]}, "team": OPTIONAL,
                     "description": OPTIONAL, "labels": {"type": ["object", "null"]},
                     "dedup_key": {**OPTIONAL, "maxLength": COLUMN_LIMITS["dedup_key"]}}}),
                 "responses": {"201": _json(_ref("ActionResult"), "Declared"),
                               "200": _json(_ref("ActionResult"), "Already open under this dedup_key"),
                               **_errors(*API_ERRORS, 404, 413, 415)}},
    },
    "/api/incidents/{number}": {"get": {
        "summary": "One incident with its alerts and timeline", "tags": ["incidents"], "security": TOKEN,
        "parameters": [NUMBER],
        "responses": {"200": _json(_ref("IncidentDetail"), "The incident"), **_errors(*API_ERRORS, 404)}}},
    "/api/incidents/{number}/acknowledge": _action("Acknowledge"),
    "/api/incidents/{number}/resolve": _action("Resolve", "note"),
    "/api/incidents/{number}/escalate": _action("Escalate now"),
    "/api/incidents/{number}/cancel": _action("Cancel", "reason"),
    "/api/incidents/{number}/notes": _action("Add a note to the timeline", "text", required=True, status="201"),
    "/api/incidents/{number}/escalations": {"get": {
        "summary": "The incident's escalation ledger: every step of every repeat with its notifications",
        "tags": ["escalation"], "security": TOKEN, "parameters": [NUMBER],
        "responses": {"200": _json(_ref("Escalations"), "The ledger, by repeat then step"),
                      **_errors(*API_ERRORS, 404)}}},
    "/api/notifications": {"get": {
        "summary": "Notifications (pages and notices), newest first", "tags": ["escalation"], "security": TOKEN,
        "parameters": [INCIDENT,
                       _query("person", {"type": "string", "pattern": PERSON_PATTERN},
                              "Only this person's: their id or email address (an unknown email is 404)"),
                       _query("channel", {"enum": list(CHANNELS)}, "Only this channel"),
                       _query("status", {"enum": list(NOTIFICATION_STATUS_WORDS)},
                              "Only this status (lower case or capitals)"),
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
                       OFFSET],
        "responses": {"200": _json({"type": "object", "properties": {
            "notifications": {"type": "array", "items": _ref("Notification")}}}, "A page of notifications"),
            **_errors(*API_ERRORS, 404)}}},
    "/api/alerts": {"get": {
        "summary": "Alerts, newest first", "tags": ["alerts"], "security": TOKEN,
        "parameters": [INCIDENT,
                       _query("status", {"enum": ["firing", "resolved"]}, "Only this status"),
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 100}, "Page size")],
        "responses": {"200": _json({"type": "object", "properties": {
            "alerts": {"type": "array", "items": _ref("Alert")}}}, "Alerts"), **_errors(*API_ERRORS)}}},
    "/api/metrics": {"get": {
        "summary": "MTTA and MTTR, overall and by team, service and severity; counts by status and severity",
        "tags": ["metrics"], "security": TOKEN,
        "parameters": [_query("window", {"type": "string", "pattern": WINDOW_PATTERN, "default": "7d"},
                              "1 to 9999 of m, h, d or w: 30m, 24h, 7d, 4w ..."),
                       _query("team", FILTER, "Only this team's incidents")],
        "responses": {"200": _json(_ref("Stats"), "Statistics"), **_errors(*API_ERRORS)}}},
    "/api/oncall": {"get": {
        "summary": "Per schedule the token may read: who is on call now, the next handoff, the next 7 days "
                   "(overrides applied)", "tags": ["oncall"], "security": TOKEN,
        "parameters": [_query("team", FILTER, "Only this team's schedules (an unknown team is 404)")],
        "responses": {"200": _json({"type": "object", "properties": {
            "schedules": {"type": "array", "items": _ref("OncallSchedule")}}}, "Who is on call"),
            **_errors(*API_ERRORS, 404)}}},
    "/api/oncall/overrides": {"post": {
        "summary": "Put someone on call for a schedule (themselves: any role in its team; someone else: team_lead "
                   "or above)", "tags": ["oncall"], "security": TOKEN,
        "requestBody": _body({"type": "object", "required": ["schedule", "person"], "properties": {
            "schedule": WRITTEN, "person": {**WRITTEN, "description": "The email of who covers"},
            "for": {**OPTIONAL, "description": "The email of whom they cover"},
            "start": {**OPTIONAL, "description": "ISO time (default now; without an offset: the schedule's zone)"},
            "end": {**OPTIONAL, "description": "ISO time; give end or duration"},
            "duration": {**OPTIONAL, "description": "30m, 4h, 2d; give end or duration"}}}),
        "responses": {"201": _json({"type": "object", "properties": {"override": _ref("OncallOverride")}},
                                   "The override, in force"),
                      **_errors(*ACTION_ERRORS)}},
        "get": {
        "summary": "The overrides running or to come, of the schedules the token may read", "tags": ["oncall"],
        "security": TOKEN,
        "parameters": [_query("schedule", FILTER, "Only this schedule's (unknown: 404; another team's: 403)")],
        "responses": {"200": _json({"type": "object", "properties": {
            "overrides": {"type": "array", "items": _ref("OncallOverride")}}}, "The overrides, by start"),
            **_errors(*API_ERRORS, 404)}}},
    "/api/oncall/overrides/{id}": {"delete": {
        "summary": "Cancel an override (the person covering may; others need team_lead or above); audited",
        "tags": ["oncall"], "security": TOKEN, "parameters": [ROW_ID],
        "responses": {"200": _json({"type": "object", "properties": {"override": _ref("OncallOverride")}},
                                   "The override, cancelled"),
                      **_errors(*API_ERRORS, 404, 409)}}},
    "/api/oncall/offers": {"get": {
        "summary": "The open shift offers (nobody took them) of the schedules the token may read", "tags": ["oncall"],
        "security": TOKEN,
        "parameters": [_query("schedule", FILTER, "Only this schedule's (unknown: 404; another team's: 403)")],
        "responses": {"200": _json({"type": "object", "properties": {
            "offers": {"type": "array", "items": _ref("OncallOffer")}}}, "The offers, by start"),
            **_errors(*API_ERRORS, 404)}},
        "post": {
        "summary": "Offer a shift for swapping (one's own: any role in the team; someone else's: team_lead or "
                   "above); the person must be on call for all of it", "tags": ["oncall"], "security": TOKEN,
        "requestBody": _body({"type": "object", "required": ["schedule"], "properties": {
            "schedule": WRITTEN,
            "person": {**OPTIONAL, "description": "Whose shift, by email (default: the token's person)"},
            "start": {**OPTIONAL, "description": "ISO time; give start and end, or neither for the next shift"},
            "end": {**OPTIONAL, "description": "ISO time; without an offset: the schedule's zone"}}}),
        "responses": {"201": _json({"type": "object", "properties": {"offer": _ref("OncallOffer")}}, "The offer"),
                      **_errors(*ACTION_ERRORS)}}},
    "/api/oncall/offers/{id}/take": {"post": {
        "summary": "Take an offered shift: an override puts the taker on call instead (any role in the team; "
                   "for someone else: team_lead or above)", "tags": ["oncall"], "security": TOKEN,
        "parameters": [ROW_ID],
        "requestBody": _body({"type": "object", "properties": {
            "person": {**OPTIONAL, "description": "Who takes it, by email (default: the token's person)"}}},
            required=False),
        "responses": {"201": _json({"type": "object", "properties": {
            "offer": _ref("OncallOffer"), "override": _ref("OncallOverride")}}, "Taken: the override in force"),
            **_errors(*ACTION_ERRORS)}}},
    "/api/oncall/offers/{id}": {"delete": {
        "summary": "Withdraw an offer nobody took (its person may; others need team_lead or above); audited",
        "tags": ["oncall"], "security": TOKEN, "parameters": [ROW_ID],
        "responses": {"200": _json({"type": "object", "properties": {"offer": _ref("OncallOffer")}},
                                   "The offer, cancelled"),
                      **_errors(*API_ERRORS, 404, 409)}}},
    "/api/oncall/fairness": {"get": {
        "summary": "Fairness per person: hours on call, of them outside working hours (09:00-17:00 Mon-Fri), pages "
                   "and pages at night (22:00-07:00), in each person's zone", "tags": ["oncall"], "security": TOKEN,
        "parameters": [_query("from", {"type": "string", "format": "date-time"}, "RFC 3339 (default: 7 days before to)"),
                       _query("to", {"type": "string", "format": "date-time"}, "RFC 3339 (default: now)"),
                       _query("team", FILTER, "Only this team's schedules and incidents")],
        "responses": {"200": _json({"type": "object", "required": ["from", "to", "people"], "properties": {
            "from": TEXT, "to": TEXT, "team": {"type": ["string", "null"]}, "working_hours": TEXT, "night": TEXT,
            "people": {"type": "array", "items": {"type": "object", "properties": {
                "person": TEXT, "timezone": TEXT, "hours_on_call": {"type": "number"},
                "hours_outside_working_hours": {"type": "number"}, "pages": {"type": "integer"},
                "night_pages": {"type": "integer"}}}}}}, "The report"), **_errors(*API_ERRORS, 404)}}},
    "/api/maintenance": {
        "get": {"summary": "Maintenance windows running now or to come, soonest first", "tags": ["maintenance"],
                "security": TOKEN,
                "responses": {"200": _json({"type": "object", "properties": {
                    "windows": {"type": "array", "items": _ref("MaintenanceWindow")}}}, "The windows"),
                    **_errors(*API_ERRORS)}},
        "post": {"summary": "Open a maintenance window: matching alerts are recorded but page nobody while it lasts "
                            "(a team's: team_lead or above there; without a team: admin)", "tags": ["maintenance"],
                 "security": TOKEN,
                 "requestBody": _body({"type": "object", "properties": {
                     "team": {**OPTIONAL, "description": "Only this team's incidents"},
                     "service": {**OPTIONAL, "description": "Only this service's incidents"},
                     "labels": {"type": ["object", "null"], "additionalProperties": WRITTEN,
                                "description": "Only incidents with all these labels"},
                     "start": {**OPTIONAL, "description": "ISO time (default now; without an offset: UTC)"},
                     "end": {**OPTIONAL, "description": "ISO time; give end or duration"},
                     "duration": {**OPTIONAL, "description": "30m, 2h, 1d; give end or duration"},
                     "reason": OPTIONAL}}),
                 "responses": {"201": _json({"type": "object", "properties": {"window": _ref("MaintenanceWindow")}},
                                            "The window"), **_errors(*API_ERRORS, 404, 413, 415)}}},
    "/api/maintenance/{id}": {"delete": {
        "summary": "End a maintenance window now (or drop one to come); paging resumes within 30 seconds",
        "tags": ["maintenance"], "security": TOKEN,
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                        "description": "The window's id, as GET /api/maintenance lists it"}],
        "responses": {"200": _json({"type": "object", "properties": {"window": _ref("MaintenanceWindow")}},
                                   "The window, ended"), **_errors(*API_ERRORS, 404)}}},
    "/api/openapi.json": {"get": {"summary": "This description", "tags": ["meta"], "security": [],
                                  "responses": {"200": _json(OBJECT, "OpenAPI 3.1")}}},
    "/calendar/{token}.ics": {"get": {
        "summary": "A schedule's or a person's on-call shifts as an iCalendar (RFC 5545) feed; the token, from "
                   "tocsin oncall feed, is the credential", "tags": ["oncall"], "security": [],
        "parameters": [{"name": "token", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}],
        "responses": {"200": {"description": "The feed: 7 days back to 60 days ahead",
                              "content": {"text/calendar": {"schema": TEXT}}},
                      "404": _json(_ref("Error"), "No feed with this token (wrong, rotated or revoked)"),
                      "503": _json(_ref("Error"), "Database unavailable; retry")}}},
    "/webhooks/alertmanager": _webhook("Alertmanager webhook v4, or Grafana's Alertmanager-style contact point",
                                       _ref("AlertmanagerWebhook"), INTEGRATION),
    "/webhooks/elastic": _webhook("Kibana webhook connector (any rule, APM included) / Elastic Watcher",
                                  _ref("ElasticWebhook"), INTEGRATION),
    # an integration with a preset or mapping reads any JSON (docs/webhooks.md); the schema is the generic shape
    "/webhooks/generic": _webhook("Generic JSON alert, or any JSON read by the integration's preset or mapping "
                                  "templates", _ref("GenericWebhook"), [*INTEGRATION, {"integrationSignature": []}],
                                  errors=(*WEBHOOK_ERRORS, 422)),
    "/v2/enqueue": _PAGERDUTY_EVENT,
    "/webhooks/pagerduty": _PAGERDUTY_EVENT,
    "/v2/change/enqueue": {"post": {
        "summary": "PagerDuty Change Events API (routing_key is the integration's token, in the body or "
                   "X-Routing-Key): recorded, never paged", "tags": ["webhooks"], "security": [],
        "requestBody": _body(_ref("PagerDutyChange")),
        "responses": {"202": _json({"type": "object", "properties": {"status": TEXT, "message": TEXT,
                                                                     "change": {"type": "integer"}}},
                                   "Change event recorded"),
                      **_errors(*WEBHOOK_ERRORS)}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (text exposition format)", "tags": ["meta"], "security": [],
                         "responses": {"200": {"description": "Metrics",
                                               "content": {"text/plain": {"schema": TEXT}}}}}},
    "/healthz": {"get": {"summary": "Liveness: the process serves HTTP", "tags": ["meta"], "security": [],
                         "responses": {"200": _json(OBJECT, "Alive")}}},
    "/readyz": {"get": {"summary": "Readiness: database reachable and migrated", "tags": ["meta"], "security": [],
                        "responses": {"200": _json(OBJECT, "Ready"), "503": _json(OBJECT, "Not ready")}}},
}

SPEC: Doc = {
    "openapi": "3.1.0",
    "info": {"title": "Tocsin sidecar API", "version": "1",
             "description": "Incidents, alerts, metrics, escalations and notifications; monitoring webhooks. "
                            "Errors are {error, detail}. Under /api/, a path not described here answers 404 not_found and "
                            "a method not described for a path 405 method_not_allowed, with an Allow header."},
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "securitySchemes": {
        "apiToken": {"type": "http", "scheme": "bearer", "description": "An api_tokens entry of the config file"},
        "integrationToken": {"type": "http", "scheme": "bearer", "description": "An integration's token"},
        "integrationBasic": {"type": "http", "scheme": "basic", "description": "An integration's basic_auth"},
        "integrationSignature": {"type": "apiKey", "in": "header", "name": "X-Tocsin-Signature",
                                 "description": "sha256=<hex HMAC-SHA256 of \"{timestamp}.{raw body}\" with "
                                                "hmac_secret>, with X-Tocsin-Timestamp: <Unix seconds> within 5 "
                                                "minutes"}}},
}


async def handle_openapi(request: Request) -> JSONResponse:
    """The OpenAPI description of the sidecar."""
    return JSONResponse(SPEC)
