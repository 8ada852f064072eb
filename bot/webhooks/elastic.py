"""Kibana alerting's webhook connector (and Elastic Watcher) with Tocsin's documented body template.

The template (docs/webhooks.md) renders one alert per action run::

    {"rule": {"id", "name", "url", "tags"}, "alert": {"id", "uuid", "action_group"},
     "reason", "date", "severity", "service", "team", "status"}

Kibana runs an action with ``alert.actionGroup`` = ``recovered`` when an alert recovers; Watcher
templates say ``"status": "resolved"`` instead.
"""

from __future__ import annotations

from typing import Any

from bot.webhooks.shape import ShapeError, clean, document, obj, text, when
from storage.ingest import AlertIn, Delivery, digest

RESOLVED_WORDS = {"recovered", "resolved", "recovery", "ok", "closed"}
FIRING_WORDS = {"firing", "active", "triggered", "open", ""}


def parse_elastic(payload: Any) -> Delivery:
    """A Delivery (one alert) from the documented Kibana/Watcher body."""
    body = obj(payload, "(body)")
    rule = obj(body.get("rule"), "rule")
    alert = obj(body.get("alert"), "alert", required=False)
    rule_id = text(rule.get("id"), "rule.id", required=True)
    rule_name = text(rule.get("name"), "rule.name") or rule_id
    instance = text(alert.get("id"), "alert.id") or rule_id
    labels = {"alertname": rule_name, "rule_id": rule_id, "instance": instance}
    for key in ("service", "team", "severity", "environment"):
        value = text(body.get(key), key, limit=200)
        if value:
            labels[key] = value
    tags = _tags(rule.get("tags"))
    if tags:
        labels["tags"] = tags
    reason = text(body.get("reason"), "reason")
    annotations: dict[str, Any] = {"summary": reason or rule_name}
    if body.get("details") is not None:
        annotations["details"] = document(body.get("details"))
    firing, date = _firing(body, alert), when(body.get("date"), "date")
    return Delivery(alerts=(AlertIn(
        fingerprint=digest("elastic", rule_id, instance),
        firing=firing,
        labels=labels,
        annotations=annotations,
        starts_at=date,
        ends_at=None if firing else date,
        generator_url=text(rule.get("url"), "rule.url"),
    ),), title=f"{rule_name}: {reason}" if reason else rule_name)


def _tags(raw: Any) -> str | None:
    """Kibana sends a list, Watcher templates often a comma-separated string; either way one storable label."""
    if isinstance(raw, list):
        return clean(",".join(clean(str(t), 200) for t in raw[:100] if t is not None)) or None
    return text(raw, "rule.tags")


def _firing(body: dict[str, Any], alert: dict[str, Any]) -> bool:
    group = (text(alert.get("action_group"), "alert.action_group") or "").lower()
    if "status" in body:
        word, field = (text(body.get("status"), "status") or "").lower(), "status"
    else:
        word, field = group, "alert.action_group"
    if word in RESOLVED_WORDS:
        return False
    if word in FIRING_WORDS or field == "alert.action_group":
        return True  # any other Kibana action group (threshold met, warning, ...) is a firing alert
    raise ShapeError(field, f"expected firing or resolved, got {word!r}")
