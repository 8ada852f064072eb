"""Message templates: an incident's title and its alerts' summaries, worded per integration or per team.

Applied to the delivery as it is read, before ingest, so the incident is stored with the worded title and
summary and every surface (chat cards, console, API, digests) shows the same words. A template that
renders empty or fails keeps the title or summary Tocsin would have derived (the page still goes out); a
failure is logged and counted (``tocsin_template_failures``). Each template sees ``payload`` (the body),
``title`` / ``summary`` (what Tocsin derived), ``labels``, and ``alerts`` (title) or ``alert`` (summary).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from bot.webhooks.shape import clean
from bot.webhooks.templates import TemplateFailure, render
from storage.ingest.model import AlertIn, Delivery, Route, common_labels, group_title, title_of

#: What ``config check`` renders a message template against when the integration has no example payload.
SAMPLE_PAYLOAD: dict[str, Any] = {"status": "firing", "commonLabels": {"alertname": "HighCPU", "severity": "critical"}}
SAMPLE = Delivery(alerts=(AlertIn(
    fingerprint="sample", firing=True,
    labels={"alertname": "HighCPU", "severity": "critical", "service": "checkout", "instance": "web1"},
    annotations={"summary": "CPU above 90% on web1", "description": "5m average over the threshold"}),))


def _alert(alert: AlertIn) -> dict[str, Any]:
    return {"labels": alert.labels, "annotations": alert.annotations, "status": "firing" if alert.firing else "resolved",
            "fingerprint": alert.fingerprint, "url": alert.generator_url or ""}


def render_title(source: str, delivery: Delivery, payload: Any, default: str, field: str) -> str:
    firing = [a for a in delivery.alerts if a.firing] or list(delivery.alerts)
    return render(source, {"payload": payload, "title": default, "alerts": [_alert(a) for a in firing],
                           "labels": common_labels(firing)}, field)


def render_summary(source: str, delivery: Delivery, alert: AlertIn, payload: Any, field: str) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    return render(source, {"payload": payload, "title": delivery.title or "", "summary": summary,
                           "alert": _alert(alert), "labels": alert.labels}, field)


def team_of(delivery: Delivery, route: Route, teams: Mapping[str, Any]) -> Any:
    """What ``teams`` (by lower-case team name) holds for the team the incident will belong to, picked as
    the ingest picks it (team label, service map, the integration's team); None for a team not in it."""
    for alert in delivery.alerts:
        for name in (alert.labels.get(route.team_label), route.services.get(alert.labels.get("service", ""))):
            if name and name.lower() in teams:
                return teams[name.lower()]
    return teams.get((route.team or "").lower())


def apply(delivery: Delivery, payload: Any, title: str | None, summary: str | None, route: Route,
          failed: Callable[[TemplateFailure], None]) -> Delivery:
    """``delivery`` with its title and its alerts' summaries rendered by the templates given (made storable:
    the payload a template reads may hold NUL characters and lone surrogates)."""
    if summary:
        alerts = []
        for alert in delivery.alerts:
            try:
                worded = clean(render_summary(summary, delivery, alert, payload, "message.summary"), 2000)
            except TemplateFailure as exc:
                failed(exc)
                worded = ""
            alerts.append(dataclasses.replace(alert, annotations={**alert.annotations, "summary": worded})
                          if worded else alert)
        delivery = dataclasses.replace(delivery, alerts=tuple(alerts))
    firing = [a for a in delivery.alerts if a.firing]
    if title and firing:  # a title is only read when an incident opens
        default = delivery.title or group_title(firing, route)
        try:
            worded = clean(render_title(title, delivery, payload, default, "message.title"), 500)
        except TemplateFailure as exc:
            failed(exc)
            worded = ""
        if worded:
            delivery = dataclasses.replace(delivery, title=worded)
    return delivery


__all__ = ["SAMPLE", "SAMPLE_PAYLOAD", "apply", "render_summary", "render_title", "team_of", "title_of"]
