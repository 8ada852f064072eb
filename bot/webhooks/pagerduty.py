"""PagerDuty Events API v2 (``POST /v2/enqueue``), so any tool with a PagerDuty integration can page Tocsin.

The ``routing_key`` is the integration's secret (its ``token`` in the config file). ``trigger`` opens
or repeats the alert of ``dedup_key``, ``acknowledge`` acknowledges its incident, ``resolve`` resolves
the alert (and so the incident, with auto_resolve). Each dedup key is its own incident, as in PagerDuty.
Change events (``POST /v2/change/enqueue``) are recorded, never paged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.webhooks.shape import ShapeError, array, document, obj, text, when
from storage.changes import ChangeIn
from storage.ingest import AlertIn, Delivery, bounded, digest

ACTIONS = ("trigger", "acknowledge", "resolve")


@dataclass(frozen=True)
class PagerDutyEvent:
    routing_key: str
    action: str
    dedup_key: str
    delivery: Delivery


def parse_pagerduty(payload: Any) -> PagerDutyEvent:
    """The event, with a Delivery for trigger and resolve (acknowledge carries only the key)."""
    body = obj(payload, "(body)")
    routing_key = text(body.get("routing_key"), "routing_key", required=True, limit=200)
    action = text(body.get("event_action"), "event_action", required=True)
    if action not in ACTIONS:
        raise ShapeError("event_action", f"expected one of {', '.join(ACTIONS)}, got {action!r}")
    key = text(body.get("dedup_key"), "dedup_key", limit=255)
    if action != "trigger" and not key:
        raise ShapeError("dedup_key", f"required to {action}")
    if action != "trigger":
        assert key is not None
        alert = AlertIn(bounded(key, 128), False, {}, ends_at=None)
        return PagerDutyEvent(routing_key, action, key, Delivery((alert,), group_key=_group(key)))
    event = obj(body.get("payload"), "payload")
    summary = text(event.get("summary"), "payload.summary", required=True, limit=1024)
    labels = {"source": text(event.get("source"), "payload.source", required=True, limit=200) or ""}
    labels["severity"] = text(event.get("severity"), "payload.severity", limit=100) or "unknown"
    for name in ("component", "group", "class"):
        value = text(event.get(name), f"payload.{name}", limit=200)
        if value:
            labels[name] = value
    if "group" in labels or "component" in labels:
        labels["service"] = labels.get("group") or labels["component"]
    annotations: dict[str, Any] = {"summary": summary}
    if event.get("custom_details") is not None:
        annotations["details"] = document(event.get("custom_details"))
    links = [obj(x, f"links[{i}]") for i, x in enumerate(array(body.get("links") or [], "links"))]
    key = key or digest("pagerduty", summary, labels)
    alert = AlertIn(
        fingerprint=bounded(key, 128), firing=True, labels=labels, annotations=annotations,
        starts_at=when(event.get("timestamp"), "payload.timestamp"),
        generator_url=text(body.get("client_url"), "client_url") or (text(links[0].get("href"), "links[0].href")
                                                                      if links else None),
    )
    return PagerDutyEvent(routing_key, action, key, Delivery((alert,), group_key=_group(key), title=summary))


def parse_change(payload: Any) -> tuple[str, ChangeIn]:
    """A change event (``POST /v2/change/enqueue``): its routing key and the change to record."""
    body = obj(payload, "(body)")
    routing_key = text(body.get("routing_key"), "routing_key", required=True, limit=200) or ""
    event = obj(body.get("payload"), "payload")
    summary = text(event.get("summary"), "payload.summary", required=True, limit=1024) or ""
    details: dict[str, Any] = {}
    if event.get("custom_details") is not None:
        details["custom_details"] = document(event.get("custom_details"))
    links = [obj(x, f"links[{i}]") for i, x in enumerate(array(body.get("links") or [], "links"))]
    if links:
        details["links"] = [{"href": text(x.get("href"), f"links[{i}].href", required=True),
                             "text": text(x.get("text"), f"links[{i}].text")} for i, x in enumerate(links)]
    return routing_key, ChangeIn(summary, text(event.get("source"), "payload.source", limit=200),
                                 when(event.get("timestamp"), "payload.timestamp"), details)


def _group(key: str) -> str:
    return f"dedup_key={key}"
