"""Prometheus metrics for the sidecar, in a registry of its own per app (tests never collide).

The escalation engine's metrics (``escalation.metrics``) are one set per process, as the process runs one
scheduler; every app's registry serves them too, so ``GET /metrics`` shows them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from bot.container import Container
from escalation import metrics as escalation_metrics
from storage import inbound
from storage.ingest import IngestResult
from storage.models import Incident
from storage.states import ACTIVE, Severity

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]


class Metrics:
    """Webhooks by source and outcome, alerts deduplicated, incidents opened and open, request latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter("tocsin_webhooks", "Webhook requests by source and outcome",
                                ["source", "outcome"], registry=self.registry)
        self.alerts = Counter("tocsin_alerts", "Alerts received by source and what became of them",
                              ["source", "result"], registry=self.registry)
        self.deduplicated = Counter("tocsin_alerts_deduplicated", "Alerts that repeated one already known",
                                    ["source"], registry=self.registry)
        self.opened = Counter("tocsin_incidents_opened", "Incidents opened from alerts", ["source", "severity"],
                              registry=self.registry)
        self.template_failures = Counter("tocsin_template_failures",
                                         "Mapping or message templates that did not render, by source and template",
                                         ["source", "template"], registry=self.registry)
        self.changes = Counter("tocsin_change_events", "Change events recorded (never paged), by source",
                               ["source"], registry=self.registry)
        self.open = Gauge("tocsin_incidents_open", "Incidents not yet resolved or cancelled", ["severity"],
                          registry=self.registry)
        self.inbound_failures = Counter("tocsin_inbound_failures", "Chat deliveries whose processing failed",
                                        ["platform"], registry=self.registry)
        self.inbound = Gauge("tocsin_inbound_deliveries", "Kept chat deliveries by status (pending, failed, dead)",
                             ["platform", "status"], registry=self.registry)
        self.silence_failures = Counter("tocsin_silence_failures",
                                        "Silence previews, creations or expiries Alertmanager did not answer",
                                        registry=self.registry)
        self.latency = Histogram("tocsin_http_request_duration_seconds", "HTTP request latency",
                                 ["route", "method", "status"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        for collector in process_wide():
            self.registry.register(collector)

    def ingested(self, source: str, result: IngestResult) -> None:
        for name, value in (("fired", result.fired), ("resolved", result.resolved), ("stale", result.stale),
                            ("ignored", result.ignored), ("deduplicated", result.deduplicated)):
            if value:
                self.alerts.labels(source, name).inc(value)
        if result.deduplicated:
            self.deduplicated.labels(source).inc(result.deduplicated)
        for _number, severity in result.opened:
            self.opened.labels(source, severity).inc()

    def timed(self, route: str, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` with its latency recorded under ``route`` (the path template, not the URL)."""

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await endpoint(request)
                status = response.status_code
                return response
            finally:
                self.latency.labels(route, request.method, str(status)).observe(time.perf_counter() - started)

        run.__name__ = run.__qualname__ = getattr(endpoint, "__name__", "endpoint")
        run.__doc__ = endpoint.__doc__
        return run

    async def refresh_inbound(self, container: Container) -> None:
        counts = await inbound.counts(container.db)
        platforms = {platform for platform, _ in counts} | {"telegram", "slack"}
        for platform in platforms:
            for status in (inbound.PENDING, inbound.FAILED, inbound.DEAD):
                self.inbound.labels(platform, status).set(counts.get((platform, status), 0))

    async def refresh_open(self, container: Container) -> None:
        async with container.db.sessions() as session:
            rows = await session.execute(
                select(Incident.severity, func.count())
                .where(Incident.status.in_([s.value for s in ACTIVE]))
                .group_by(Incident.severity))
            counts = {status: n for status, n in rows}
        for severity in Severity:
            self.open.labels(severity.value).set(counts.get(severity.value, 0))


def process_wide() -> list[MetricWrapperBase]:
    """Every metric ``escalation.metrics`` defines (a new one there is served without a change here)."""
    return [value for value in vars(escalation_metrics).values() if isinstance(value, MetricWrapperBase)]


async def handle_metrics(request: Request) -> Response:
    """Prometheus text exposition of the sidecar's metrics."""
    container: Container = request.state.tocsin
    metrics = container.metrics
    try:
        await metrics.refresh_open(container)
    except Exception as exc:  # a scrape still answers when the database is down; the gauge keeps its last value
        log.warning("could not count open incidents for /metrics: %s", type(exc).__name__)
    try:
        await metrics.refresh_inbound(container)
    except Exception as exc:
        log.warning("could not count kept chat deliveries for /metrics: %s", type(exc).__name__)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
