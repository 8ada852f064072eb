"""The webhook endpoints: authenticate, read, parse, ingest in one transaction, answer.

Statuses are chosen for at-least-once senders: 2xx once the delivery is safely stored (or was a
repeat), 401/413/415/400 for requests that will never succeed (nothing is stored), and 503 for our
own transient failures so that the sender retries. Chat notifications happen after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.config_file import IntegrationConfig
from bot.container import Container
from bot.webhooks import auth, messages
from bot.webhooks.alertmanager import parse_alertmanager
from bot.webhooks.elastic import parse_elastic
from bot.webhooks.generic import parse_generic
from bot.webhooks.http import (
    DATABASE_FAILURES,
    HttpError,
    check_json_type,
    check_length,
    failure_name,
    parse_json,
    read_body,
)
from bot.webhooks.mapped import effective, parse_mapped
from bot.webhooks.pagerduty import parse_change, parse_pagerduty
from bot.webhooks.shape import ShapeError, clean, document
from bot.webhooks.templates import TemplateFailure
from storage import inbound
from storage.changes import record_change
from storage.ingest import Delivery, IngestResult, Route, digest
from storage.states import Severity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """One webhook route: which integration types may post to it and how its body is parsed."""

    source: str
    types: tuple[str, ...]
    parse: Callable[[Any], Delivery]
    signed: bool = False  # the generic endpoint also accepts an HMAC signature of the raw body


ALERTMANAGER = Endpoint("alertmanager", ("alertmanager", "grafana"), parse_alertmanager)
ELASTIC = Endpoint("elastic", ("elastic",), parse_elastic)
GENERIC = Endpoint("generic", ("generic",), parse_generic, signed=True)

#: An alert without the severity label: Grafana's rules carry none unless the user adds one, and a
#: Grafana alert that fires is a threshold crossed, so it is high rather than the generic medium.
UNLABELLED_SEVERITY = {"grafana": Severity.HIGH}


def route_for(container: Container, integration: IntegrationConfig) -> Route:
    routing = container.config.routing
    return Route(integration.name, integration.team, integration.auto_resolve, integration.group_by,
                 routing.team_label, routing.services, integration.flap_count,
                 timedelta(seconds=integration.flap_within), integration.severity_label,
                 UNLABELLED_SEVERITY.get(integration.type, Severity.MEDIUM))


def _candidates(container: Container, types: Sequence[str]) -> list[IntegrationConfig]:
    return [i for i in container.config.integrations if i.type in types]


async def _authenticated_body(request: Request, endpoint: Endpoint, container: Container
                              ) -> tuple[IntegrationConfig, bytes]:
    limit = container.settings.max_body_bytes
    check_length(request, limit)
    candidates = _candidates(container, endpoint.types)
    integration = auth.by_header(request, candidates)
    sentry = endpoint.signed and auth.SENTRY_SIGNATURE_HEADER in request.headers
    signed = endpoint.signed and auth.SIGNATURE_HEADER in request.headers or sentry
    if integration is None and not signed:
        raise auth.refused(request, endpoint.source, candidates, auth.header_failure(request, endpoint.source),
                           f"send the {endpoint.source} integration's token (Authorization: Bearer ...)"
                           + (" or an X-Tocsin-Signature with an X-Tocsin-Timestamp" if endpoint.signed else ""))
    check_json_type(request)
    body = await read_body(request, limit)
    if integration is None and sentry and auth.SIGNATURE_HEADER not in request.headers:
        integration = auth.by_sentry_signature(request, body, candidates, container.clock.now())
    elif integration is None:
        integration = auth.by_signature(request, body, candidates, container.clock.now(), endpoint.source)
    return integration, body


def _answer(result: IngestResult, integration: IntegrationConfig, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": "ok", "integration": integration.name, "incidents": result.incidents,
                         "opened": [n for n, _ in result.opened], "fired": result.fired,
                         "resolved": result.resolved, "deduplicated": result.deduplicated,
                         "stale": result.stale, "ignored": result.ignored, "unmatched": result.unmatched, **extra},
                        status_code=status)


async def receive(request: Request, endpoint: Endpoint) -> Response:
    """The common frame of the Alertmanager, Elastic and generic endpoints."""
    container: Container = request.state.tocsin
    metrics = container.metrics
    source = endpoint.source
    try:
        integration, body = await _authenticated_body(request, endpoint, container)
        source = integration.name
        payload = parse_json(body)
        if integration.preset or integration.mapping:
            delivery = await _mapped(container, integration, payload)
        else:
            try:
                delivery = endpoint.parse(payload)
            except ShapeError as exc:
                raise HttpError(400, "invalid_payload", str(exc)) from None
        route = route_for(container, integration)
        delivery = _worded(container, integration, route, delivery, payload)
        result = await container.ingest.ingest(delivery, route)
    except HttpError as exc:
        metrics.webhooks.labels(source, exc.error).inc()
        return exc.response()
    except DATABASE_FAILURES as exc:
        metrics.webhooks.labels(source, "unavailable").inc()
        log.warning("webhook from %s not stored, answering 503: %s", source, failure_name(exc))
        return HttpError(503, "unavailable", "the delivery was not stored; retry later",
                         {"Retry-After": "5"}).response()
    metrics.webhooks.labels(source, "accepted").inc()
    metrics.ingested(source, result)
    _log_unmatched(source, result)
    return _answer(result, integration)


async def _mapped(container: Container, integration: IntegrationConfig, payload: Any) -> Delivery:
    """The delivery as the integration's preset and mapping read it. When they do not fit the payload, the
    delivery is kept (``tocsin inbound list``), counted, and answered 422: the sender's retry would fail alike."""
    try:
        return parse_mapped(payload, effective(integration.preset, integration.mapping))
    except (TemplateFailure, ShapeError) as exc:
        container.metrics.template_failures.labels(integration.name, exc.field).inc()
        log.warning("webhook from %s: its mapping did not fit the payload (%s); the delivery is kept", integration.name,
                    exc)
        kept, problem = document(payload), clean(str(exc))  # storable: no NUL, no lone surrogate
        row = await inbound.record_failed(container.db, inbound.WEBHOOK, f"{integration.name}:{digest(kept)}",
                                          {"integration": integration.name, "body": kept}, problem,
                                          container.clock.now())
        raise HttpError(422, "template_failed", f"{problem} (integration {integration.name}: fix its mapping; the "
                                                f"delivery is kept as #{row}, see tocsin inbound list)") from None


def _worded(container: Container, integration: IntegrationConfig, route: Route, delivery: Delivery,
            payload: Any) -> Delivery:
    """The delivery with the integration's message templates applied, else its team's (docs/webhooks.md)."""
    title, summary = integration.message_title, integration.message_summary
    if not (title and summary):
        teams = {name.lower(): words for name, words in container.config.team_messages.items()}
        team = messages.team_of(delivery, route, teams)
        if team is not None:
            title, summary = title or team.get("title"), summary or team.get("summary")
    if not (title or summary):
        return delivery

    def failed(exc: TemplateFailure) -> None:
        container.metrics.template_failures.labels(integration.name, exc.field).inc()
        log.warning("webhook from %s: a message template failed, the derived words are kept: %s",
                    integration.name, exc)

    return messages.apply(delivery, payload, title, summary, route, failed)


def _log_unmatched(source: str, result: IngestResult) -> None:
    if result.unmatched:
        log.warning("resolve from %s matched no firing alert (never seen, or its incident closed by hand): "
                    "fingerprints %s", source, ", ".join(result.unmatched[:20]))


async def handle_alertmanager_webhook(request: Request) -> Response:
    """Alertmanager (webhook v4) and Grafana's Alertmanager-style contact point."""
    return await receive(request, ALERTMANAGER)


async def handle_elastic_webhook(request: Request) -> Response:
    """Kibana's webhook connector (any rule, APM rules included) and Elastic Watcher's webhook action."""
    return await receive(request, ELASTIC)


async def handle_generic_webhook(request: Request) -> Response:
    """The generic JSON webhook."""
    return await receive(request, GENERIC)


def _pagerduty_error(status: int, error: str, detail: str) -> JSONResponse:
    # PagerDuty clients read status/message/errors (PagerDuty's own 400 body); everyone else reads error/detail.
    message = "Event object is invalid" if status == 400 else detail
    return JSONResponse({"status": "invalid event" if status == 400 else error, "message": message,
                         "errors": [detail], "error": error, "detail": detail}, status_code=status)


async def _pagerduty_payload(request: Request, container: Container) -> Any:
    """The body, with the routing key of an ``X-Routing-Key`` header where the body has none (Kibana's connector)."""
    check_json_type(request)
    payload = parse_json(await read_body(request, container.settings.max_body_bytes))
    header_key = request.headers.get("x-routing-key")
    if isinstance(payload, dict) and payload.get("routing_key") in (None, "") and header_key:
        payload = {**payload, "routing_key": header_key}
    return payload


def _pagerduty_integration(request: Request, container: Container, routing_key: str) -> IntegrationConfig:
    """The pagerduty integration whose token is the routing key (PagerDuty has no other secret)."""
    candidates = _candidates(container, ("pagerduty",))
    integration = next((i for i in candidates if auth.same(routing_key, i.token)), None)
    if integration is None:
        raise auth.refused(request, "pagerduty", candidates, "unknown routing_key", "unknown routing_key")
    return integration


async def handle_pagerduty_event(request: Request) -> Response:
    """PagerDuty Events API v2: the routing_key authenticates; answers 202 like PagerDuty."""
    container: Container = request.state.tocsin
    metrics = container.metrics
    source = "pagerduty"
    try:
        payload = await _pagerduty_payload(request, container)
        try:
            event = parse_pagerduty(payload)
        except ShapeError as exc:
            raise HttpError(400, "invalid_payload", str(exc)) from None
        integration = _pagerduty_integration(request, container, event.routing_key)
        source = integration.name
        route = route_for(container, integration)
        ingest = container.ingest
        if event.action == "acknowledge":
            result = await ingest.alerts.acknowledge(event.delivery.group_key or "", route)
        else:
            result = await ingest.ingest(_worded(container, integration, route, event.delivery, payload), route)
    except HttpError as exc:
        metrics.webhooks.labels(source, exc.error).inc()
        return _pagerduty_error(exc.status, exc.error, exc.detail)
    except DATABASE_FAILURES as exc:
        metrics.webhooks.labels(source, "unavailable").inc()
        log.warning("PagerDuty event from %s not stored, answering 503: %s", source, failure_name(exc))
        return _pagerduty_error(503, "unavailable", "the event was not stored; retry later")
    metrics.webhooks.labels(source, "accepted").inc()
    metrics.ingested(source, result)
    _log_unmatched(source, result)
    return JSONResponse({"status": "success", "message": "Event processed", "dedup_key": event.dedup_key,
                         "incidents": result.incidents}, status_code=202)


async def handle_pagerduty_change(request: Request) -> Response:
    """PagerDuty's Change Events API: the change is recorded for responders; nothing opens, nobody is paged."""
    container: Container = request.state.tocsin
    metrics = container.metrics
    source = "pagerduty"
    try:
        payload = await _pagerduty_payload(request, container)
        try:
            routing_key, change = parse_change(payload)
        except ShapeError as exc:
            raise HttpError(400, "invalid_payload", str(exc)) from None
        integration = _pagerduty_integration(request, container, routing_key)
        source = integration.name
        number = await record_change(container.db, integration.name, change, container.clock.now())
    except HttpError as exc:
        metrics.webhooks.labels(source, exc.error).inc()
        return _pagerduty_error(exc.status, exc.error, exc.detail)
    except DATABASE_FAILURES as exc:
        metrics.webhooks.labels(source, "unavailable").inc()
        log.warning("PagerDuty change event from %s not stored, answering 503: %s", source, failure_name(exc))
        return _pagerduty_error(503, "unavailable", "the change event was not stored; retry later")
    metrics.webhooks.labels(source, "accepted").inc()
    metrics.changes.labels(source).inc()
    return JSONResponse({"status": "success", "message": "Change event processed", "change": number},
                        status_code=202)
