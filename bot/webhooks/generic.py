"""The generic JSON webhook: a small documented shape for scripts, CI jobs and anything else.

    {"title": "...", "severity": "critical", "service": "checkout", "team": "payments",
     "dedup_key": "deploy-42", "status": "trigger" | "resolve", "details": {...},
     "links": [{"text": "Logs", "href": "https://..."}, "https://..."], "labels": {...}}

The dedup key is the alert's identity and its incident's; without one, a hash of the payload is used
(so a retried request is still a repeat), and such an alert can only be resolved by hand.
"""

from __future__ import annotations

from typing import Any

from bot.webhooks.shape import ShapeError, array, document, labels, obj, text, when
from storage.ingest import AlertIn, Delivery, bounded, digest

ACTIONS = {"trigger": True, "firing": True, "resolve": False, "resolved": False}


def parse_generic(payload: Any) -> Delivery:
    """A Delivery (one alert) from the generic body."""
    body = obj(payload, "(body)")
    status = (text(body.get("status"), "status") or "trigger").lower()
    if status not in ACTIONS:
        raise ShapeError("status", f"expected trigger or resolve, got {status!r}")
    firing = ACTIONS[status]
    key = text(body.get("dedup_key"), "dedup_key", limit=255)
    if not firing and not key:
        raise ShapeError("dedup_key", "required to resolve")
    title = text(body.get("title"), "title", required=firing, limit=500)
    alert_labels = labels(body.get("labels"), "labels")
    for name in ("service", "team", "severity"):
        value = text(body.get(name), name, limit=200)
        if value:
            alert_labels[name] = value
    annotations: dict[str, Any] = {"summary": title} if title else {}
    if body.get("details") is not None:
        annotations["details"] = document(obj(body.get("details"), "details"))
    links = _links(body.get("links"))
    if links:
        annotations["links"] = links
    fingerprint = bounded(key, 128) if key else digest("generic", title, alert_labels, annotations)
    return Delivery(alerts=(AlertIn(
        fingerprint=fingerprint,
        firing=firing,
        labels=alert_labels,
        annotations=annotations,
        starts_at=when(body.get("timestamp"), "timestamp"),
        ends_at=None if firing else when(body.get("timestamp"), "timestamp"),
        generator_url=links[0]["href"] if links else None,
    ),), group_key=f"key={fingerprint}", title=title)


def _links(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    links = []
    for i, item in enumerate(array(raw, "links")[:20]):
        if isinstance(item, str):
            href = text(item, f"links[{i}]", required=True)
            links.append({"text": href, "href": href})
        else:
            link = obj(item, f"links[{i}]")
            href = text(link.get("href"), f"links[{i}].href", required=True)
            links.append({"text": text(link.get("text"), f"links[{i}].text") or href, "href": href})
    return links
