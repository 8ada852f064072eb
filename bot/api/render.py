"""JSON documents for the REST API, from the core's immutable views (no database access here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.stats import Durations, Stats
from storage.views import AlertView, IncidentView, PersonRef, TimelineEntry


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _person(ref: PersonRef | None) -> dict[str, Any] | None:
    return {"id": ref.id, "name": ref.name, "email": ref.email} if ref else None


def render_incident_json(view: IncidentView) -> dict[str, Any]:
    """An incident as listed: state, owners, times, alert counts ("+N more" when Alertmanager truncated)."""
    alerts = {"firing": view.alerts_firing, "resolved": view.alerts_resolved, "truncated": view.truncated_alerts}
    if view.truncated_alerts:
        alerts["more"] = f"+{view.truncated_alerts} more"
    return {
        "number": view.number,
        "title": view.title,
        "description": view.description,
        "status": view.status.value,
        "severity": view.severity.value,
        "service": view.service,
        "team": view.team.name if view.team else None,
        "labels": view.labels,
        "dedup_key": view.dedup_key,
        "source": view.source,
        "created_by": _person(view.created_by),
        "assignee": _person(view.assignee),
        "acknowledged_by": _person(view.acknowledged_by),
        "resolved_by": _person(view.resolved_by),
        "created_at": _when(view.created_at),
        "acknowledged_at": _when(view.acknowledged_at),
        "resolved_at": _when(view.resolved_at),
        "updated_at": _when(view.updated_at),
        "snoozed_until": _when(view.snoozed_until),
        "escalation_policy": view.escalation_policy,
        "escalation_level": view.escalation_level,
        "alerts": alerts,
        "links": [{"label": link.label, "url": link.url} for link in view.links],
    }


def render_alert_json(alert: AlertView) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "name": alert.name,
        "summary": alert.summary,
        "labels": alert.labels,
        "starts_at": _when(alert.starts_at),
        "ends_at": _when(alert.ends_at),
        "occurrence_count": alert.occurrence_count,
        "last_seen_at": _when(alert.last_seen_at),
    }


def render_timeline_json(entry: TimelineEntry) -> dict[str, Any]:
    return {"kind": entry.kind, "at": _when(entry.at), "actor": entry.actor_name, "source": entry.actor_source,
            "text": entry.text, "data": entry.data}


def render_detail_json(view: IncidentView, alerts: list[AlertView], timeline: list[TimelineEntry]) -> dict[str, Any]:
    """One incident with all its alerts and its timeline."""
    return {**render_incident_json(view), "alert_list": [render_alert_json(a) for a in alerts],
            "timeline": [render_timeline_json(e) for e in timeline]}


def _durations(d: Durations) -> dict[str, Any]:
    return {"count": d.count, "mtta_seconds": d.mtta_seconds, "mttr_seconds": d.mttr_seconds}


def render_stats_json(stats: Stats, window: str) -> dict[str, Any]:
    """MTTA and MTTR overall and by team, service and severity; counts by status and severity."""
    return {
        "window": window,
        "since": _when(stats.since),
        "team": stats.team,
        "overall": _durations(stats.overall),
        "by_team": {k: _durations(v) for k, v in stats.by_team.items()},
        "by_service": {k: _durations(v) for k, v in stats.by_service.items()},
        "by_severity": {k: _durations(v) for k, v in stats.by_severity_durations.items()},
        "counts": {"by_status": stats.by_status, "by_severity": stats.by_severity},
    }
