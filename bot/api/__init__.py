"""The REST API (JSON, bearer tokens from the config file) and its OpenAPI description."""

from __future__ import annotations

from starlette.routing import Route

from bot.api import endpoints as e
from bot.api import maintenance, oncall, oncall_fairness, oncall_feeds
from bot.api.openapi import handle_openapi
from bot.container import Container
from bot.surface import Surface

ROUTES = (
    ("/api/incidents", "GET", e.list_incidents),
    ("/api/incidents", "POST", e.declare_incident),
    ("/api/incidents/{number}", "GET", e.show_incident),
    ("/api/incidents/{number}/acknowledge", "POST", e.acknowledge_incident),
    ("/api/incidents/{number}/resolve", "POST", e.resolve_incident),
    ("/api/incidents/{number}/escalate", "POST", e.escalate_incident),
    ("/api/incidents/{number}/cancel", "POST", e.cancel_incident),
    ("/api/incidents/{number}/notes", "POST", e.add_note),
    ("/api/incidents/{number}/escalations", "GET", e.incident_escalations),
    ("/api/alerts", "GET", e.list_alerts),
    ("/api/notifications", "GET", e.list_notifications),
    ("/api/metrics", "GET", e.incident_metrics),
    ("/api/oncall", "GET", oncall.list_oncall),
    ("/api/oncall/overrides", "POST", oncall.create_override),
    ("/api/oncall/overrides", "GET", oncall.list_overrides),
    ("/api/oncall/overrides/{id}", "DELETE", oncall.cancel_override),
    ("/api/oncall/offers", "GET", oncall.list_offers),
    ("/api/oncall/offers", "POST", oncall.create_offer),
    ("/api/oncall/offers/{id}/take", "POST", oncall.take_offer),
    ("/api/oncall/offers/{id}", "DELETE", oncall.cancel_offer),
    ("/api/oncall/fairness", "GET", oncall_fairness.oncall_fairness),
    ("/api/maintenance", "GET", maintenance.list_windows),
    ("/api/maintenance", "POST", maintenance.create_window),
    ("/api/maintenance/{id}", "DELETE", maintenance.end_window),
)


def surface(container: Container) -> Surface:
    """The API routes; requests are timed into the sidecar's latency histogram."""
    metrics = container.metrics
    routes = [Route(path, metrics.timed(path, e.api(handler)), methods=[method]) for path, method, handler in ROUTES]
    routes.append(Route("/api/openapi.json", handle_openapi, methods=["GET"]))
    routes.append(Route(oncall_feeds.PATH, metrics.timed(oncall_feeds.PATH, oncall_feeds.calendar), methods=["GET"]))
    status = "on" if container.config.api_tokens else "on (no api_tokens configured: every call gets 401)"
    return Surface("api", status, routes)
