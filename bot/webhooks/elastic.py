"""Kibana alerting's webhook connector (any rule, Elastic APM's included) and Elastic Watcher's webhook action.

Kibana posts the documented default body (docs/webhooks.md), made of Kibana's own rule variables only::

    {"rule": {"id", "name", "url", "tags", "spaceId"},
     "alert": {"id", "uuid", "actionGroup", "actionGroupName", "flapping"},
     "context": {...the rule type's context...}, "date", "kibanaBaseUrl"}

so that one body serves every rule: the severity, service and team come from the rule's tags
(``severity:critical``), else from what the rule type's context says (APM's ``serviceName``, a security
rule's ``context.rule.severity``). Kibana runs an action with ``alert.actionGroup`` = ``recovered`` when an
alert recovers. Tocsin's earlier template (top-level ``severity``, ``service``, ``team``, ``reason``,
``alert.action_group``) is still read, and its fields win.

Watcher posts ``{"status": "firing" | "resolved", "ctx": <the execution context, by toJson>}``; the
watch's ``metadata`` carries the name, summary, severity, service and team.

The context and the metadata are free-form: a value of an unexpected type there is ignored, never refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.webhooks.shape import MAX_TEXT, ShapeError, clean, document, obj, text, when
from storage.ingest import AlertIn, Delivery, digest

RESOLVED_WORDS = {"recovered", "resolved", "recovery", "ok", "closed"}
FIRING_WORDS = {"firing", "active", "triggered", "open", ""}
ROUTED = ("severity", "service", "team", "environment")
LABEL_LIMIT = 200
#: Kibana's SLO burn-rate rule names its severity in the action group.
BURN_RATE = {"slo.burnRate.alert": "critical", "slo.burnRate.high": "high", "slo.burnRate.medium": "medium",
             "slo.burnRate.low": "low"}
#: APM rules' context fields kept as labels (searchable, shown with the alert).
APM_LABELS = (("transactionType", "transaction_type"), ("transactionName", "transaction_name"))


def parse_elastic(payload: Any) -> Delivery:
    """A Delivery (one alert) from Kibana's webhook connector or Watcher's webhook action."""
    body = obj(payload, "(body)")
    if "rule" not in body and "ctx" in body:
        return _watcher(body)
    return _kibana(body)


def _kibana(body: dict[str, Any]) -> Delivery:
    rule = obj(body.get("rule"), "rule")
    alert = obj(body.get("alert"), "alert", required=False)
    context = _loose_obj(body.get("context"))
    rule_id = text(rule.get("id"), "rule.id", required=True)
    rule_name = text(rule.get("name"), "rule.name") or rule_id
    instance = text(alert.get("id"), "alert.id") or rule_id
    group = _action_group(alert)
    labels = {"alertname": rule_name, "rule_id": rule_id, "instance": instance, **_kibana_labels(body, rule,
                                                                                               context, group)}
    reason = (text(body.get("reason"), "reason") or _loose(context.get("reason")) or _loose(context.get("title"))
              or _loose(context.get("message")))
    annotations: dict[str, Any] = {"summary": reason or rule_name}
    if body.get("details") is not None:
        annotations["details"] = document(body.get("details"))
    elif context:
        annotations["details"] = document(context)
    if dashboard := _url(context.get("viewInAppUrl")) or _url(context.get("link")):
        annotations["dashboard_url"] = dashboard
    firing, date = _firing(body, group), when(body.get("date"), "date")
    return Delivery(alerts=(AlertIn(
        fingerprint=digest("elastic", rule_id, instance),
        firing=firing,
        labels=labels,
        annotations=annotations,
        starts_at=date,
        ends_at=None if firing else date,
        generator_url=_url(context.get("alertDetailsUrl")) or text(rule.get("url"), "rule.url"),
    ),), title=f"{rule_name}: {reason}" if reason else rule_name)


def _kibana_labels(body: dict[str, Any], rule: dict[str, Any], context: dict[str, Any],
                   group: str | None) -> dict[str, str]:
    """The routed labels (body field, else rule tag, else what the context implies), APM's and the tags."""
    tag_list = _tag_list(rule.get("tags"))
    implied = {"severity": _loose(_loose_obj(context.get("rule")).get("severity")) or BURN_RATE.get(group or ""),
               "service": _loose(context.get("serviceName")), "environment": _loose(context.get("environment"))}
    labels = _routed(body, _tagged(tag_list), implied)
    for key, label in APM_LABELS:
        if value := _loose(context.get(key), LABEL_LIMIT):
            labels[label] = value
    if error_group := (_loose(context.get("errorGroupingName"), LABEL_LIMIT)
                       or _loose(context.get("errorGroupingKey"), LABEL_LIMIT)):
        labels["error_group"] = error_group
    if tag_list:
        labels["tags"] = clean(",".join(tag_list))
    if space := text(rule.get("spaceId"), "rule.spaceId", limit=LABEL_LIMIT):
        labels["space"] = space
    return labels


def _watcher(body: dict[str, Any]) -> Delivery:
    ctx = obj(body.get("ctx"), "ctx")
    watch_id = text(ctx.get("watch_id"), "ctx.watch_id", required=True)
    meta = _loose_obj(ctx.get("metadata"))
    name = _loose(meta.get("name")) or watch_id
    instance = _loose(meta.get("instance")) or watch_id
    labels = {"alertname": name, "watch_id": watch_id, "instance": instance}
    labels |= _routed(body, {}, {key: _loose(meta.get(key)) for key in ROUTED})
    payload = _loose_obj(ctx.get("payload"))
    summary = text(body.get("reason"), "reason") or _loose(meta.get("summary")) or _hits(payload)
    annotations: dict[str, Any] = {"summary": summary or name}
    for key in ("runbook_url", "dashboard_url"):
        if url := _url(meta.get(key)):
            annotations[key] = url
    if payload:
        annotations["details"] = document(payload)
    firing, date = _firing(body, None), when(body.get("date"), "date") or _execution_time(ctx)
    return Delivery(alerts=(AlertIn(
        fingerprint=digest("watcher", watch_id, instance),
        firing=firing,
        labels=labels,
        annotations=annotations,
        starts_at=date,
        ends_at=None if firing else date,
        generator_url=_url(meta.get("url")),
    ),), title=f"{name}: {summary}" if summary else name)


def _execution_time(ctx: dict[str, Any]) -> datetime | None:
    try:
        return when(ctx.get("execution_time"), "ctx.execution_time")
    except ShapeError:
        return None  # Watcher writes its own times; one we cannot read is "now", not a refused alert


def _routed(body: dict[str, Any], tagged: dict[str, str], implied: dict[str, str | None]) -> dict[str, str]:
    """Severity, service, team and environment: the body's own field, else the rule's tag, else implied."""
    labels = {}
    for key in ROUTED:
        value = text(body.get(key), key, limit=LABEL_LIMIT) or tagged.get(key) or implied.get(key)
        if value:
            labels[key] = clean(value, LABEL_LIMIT)
    return labels


def _tag_list(raw: Any) -> list[str]:
    """Kibana writes a list variable as ``a,b,c``; a body may also carry a real list."""
    if isinstance(raw, list):
        return [clean(str(t), LABEL_LIMIT) for t in raw[:100] if t is not None and str(t).strip()]
    written = text(raw, "rule.tags")
    return [t.strip() for t in written.split(",") if t.strip()][:100] if written else []


def _tagged(tags: list[str]) -> dict[str, str]:
    """``severity:critical``, ``team=payments``: the tags that route."""
    found: dict[str, str] = {}
    for tag in tags:
        key, sep, value = tag.replace("=", ":", 1).partition(":")
        key = key.strip().lower()
        if sep and key in ROUTED and value.strip() and key not in found:
            found[key] = value.strip()
    return found


def _action_group(alert: dict[str, Any]) -> str | None:
    return (text(alert.get("actionGroup"), "alert.actionGroup")
            or text(alert.get("action_group"), "alert.action_group"))


def _firing(body: dict[str, Any], group: str | None) -> bool:
    if "status" in body:
        word, field = (text(body.get("status"), "status") or "").lower(), "status"
    else:
        word, field = (group or "").lower(), "alert.actionGroup"
    if word in RESOLVED_WORDS:
        return False
    if word in FIRING_WORDS or field == "alert.actionGroup":
        return True  # any other Kibana action group (threshold met, warning, ...) is a firing alert
    raise ShapeError(field, f"expected firing or resolved, got {word!r}")


def _hits(payload: dict[str, Any]) -> str | None:
    """"14 hits" from a search input's payload (``hits.total`` is a number or ``{"value": n}``)."""
    total = _loose_obj(payload.get("hits")).get("total")
    if isinstance(total, dict):
        total = total.get("value")
    return f"{total} hits" if isinstance(total, int) and not isinstance(total, bool) else None


def _loose(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A free-form value as text, or None when it is not a string or a number (never an error)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return clean(str(value), limit).strip() or None


def _loose_obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _url(value: Any) -> str | None:
    written = _loose(value)
    return written if written and written.startswith(("https://", "http://")) else None
