"""Alertmanager's webhook (version 4), and Grafana's Alertmanager-style webhook contact point."""

from __future__ import annotations

from typing import Any

from bot.webhooks.shape import ShapeError, array, count, document, labels, obj, text, when
from storage.ingest import AlertIn, Delivery, bounded, label_fingerprint

STATUSES = {"firing": True, "resolved": False}
#: Grafana's extra per-alert links, kept as annotations so the incident card can link to them.
GRAFANA_LINKS = {"dashboardURL": "dashboard_url", "panelURL": "panel_url", "silenceURL": "silence_url"}
#: The annotation that keeps an Alertmanager's ``externalURL`` (its web UI) for the card's link.
EXTERNAL_URL = "alertmanager_url"


def parse_alertmanager(payload: Any) -> Delivery:
    """A Delivery from an Alertmanager or Grafana webhook body."""
    body = obj(payload, "(body)")
    group_labels = labels(body.get("groupLabels"), "groupLabels")
    common = document(obj(body.get("commonAnnotations"), "commonAnnotations", required=False))
    raw_alerts = array(body.get("alerts"), "alerts")
    alerts = tuple(_alert(a, f"alerts[{i}]") for i, a in enumerate(raw_alerts))
    external = text(body.get("externalURL"), "externalURL")
    if external and not _from_grafana(body, raw_alerts):  # Grafana's is Grafana's root: its own links say more
        for alert in alerts:
            alert.annotations.setdefault(EXTERNAL_URL, external)
    return Delivery(
        alerts=alerts,
        group_key=text(body.get("groupKey"), "groupKey"),
        title=_title(common, group_labels),
        truncated=count(body.get("truncatedAlerts"), "truncatedAlerts"),
    )


def _from_grafana(body: dict[str, Any], alerts: list[Any]) -> bool:
    """Grafana's contact point sends ``orgId`` and per-alert links that Alertmanager never does."""
    return "orgId" in body or any(isinstance(a, dict) and any(k in a for k in GRAFANA_LINKS) for a in alerts)


def _alert(raw: Any, field: str) -> AlertIn:
    alert = obj(raw, field)
    status = text(alert.get("status"), f"{field}.status", required=True)
    if status not in STATUSES:
        raise ShapeError(f"{field}.status", f"expected firing or resolved, got {status!r}")
    alert_labels = labels(alert.get("labels"), f"{field}.labels")
    annotations = document(obj(alert.get("annotations"), f"{field}.annotations", required=False))
    for key, name in GRAFANA_LINKS.items():
        url = text(alert.get(key), f"{field}.{key}")
        if url:
            annotations.setdefault(name, url)
    value = text(alert.get("valueString"), f"{field}.valueString")
    if value:
        annotations.setdefault("value", value)
    fingerprint = text(alert.get("fingerprint"), f"{field}.fingerprint") or label_fingerprint(alert_labels)
    return AlertIn(
        fingerprint=bounded(fingerprint, 128),
        firing=STATUSES[status],
        labels=alert_labels,
        annotations=annotations,
        starts_at=when(alert.get("startsAt"), f"{field}.startsAt"),
        ends_at=when(alert.get("endsAt"), f"{field}.endsAt"),
        generator_url=text(alert.get("generatorURL"), f"{field}.generatorURL"),
    )


def _title(common_annotations: dict[str, Any], group_labels: dict[str, str]) -> str | None:
    summary = common_annotations.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    name = group_labels.get("alertname")
    others = [v for k, v in sorted(group_labels.items()) if k != "alertname"]
    if name and others:
        return f"{name} on {', '.join(others)}"
    return name or None
