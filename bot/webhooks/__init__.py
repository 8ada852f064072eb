"""Monitoring webhooks: Alertmanager, Grafana, Elastic, generic JSON, PagerDuty Events v2; and /metrics."""

from __future__ import annotations

from starlette.routing import Route

from bot.container import Container
from bot.surface import Surface
from bot.webhooks.metrics import handle_metrics
from bot.webhooks.receive import (
    handle_alertmanager_webhook,
    handle_elastic_webhook,
    handle_generic_webhook,
    handle_pagerduty_change,
    handle_pagerduty_event,
)

ROUTES = (
    ("/webhooks/alertmanager", handle_alertmanager_webhook),
    ("/webhooks/elastic", handle_elastic_webhook),
    ("/webhooks/generic", handle_generic_webhook),
    ("/v2/enqueue", handle_pagerduty_event),
    ("/webhooks/pagerduty", handle_pagerduty_event),  # the same, named like the other webhooks
    ("/v2/change/enqueue", handle_pagerduty_change),
)


def surface(container: Container) -> Surface:
    """The webhook routes (POST) and the Prometheus /metrics route (GET)."""
    metrics = container.metrics
    routes = [Route(path, metrics.timed(path, handler), methods=["POST"]) for path, handler in ROUTES]
    routes.append(Route("/metrics", handle_metrics, methods=["GET"]))
    integrations = len(container.config.integrations)
    status = "on" if integrations else "on (no integrations configured: every webhook gets 401)"
    return Surface("webhooks", status, routes)
