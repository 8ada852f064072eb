"""REST API endpoints: list, show, declare and act on incidents; alerts; MTTA/MTTR metrics; the escalation
ledger and the notification outbox."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.auth import authenticate
from bot.api.params import (
    NOTIFICATION_STATUS_WORDS,
    PERSON_PATTERN,
    body_text,
    incident_filter,
    incident_number,
    integer,
    parse_window,
    severity,
    statuses,
    text_filter,
    time_filter,
)
from bot.api.render import render_alert_json, render_detail_json, render_incident_json, render_stats_json
from bot.container import Container
from bot.platforms import CHANNELS, DEFAULT_POLICY
from bot.webhooks.http import DATABASE_FAILURES, HttpError, error_response, parse_json, read_body, unavailable
from bot.webhooks.shape import document
from escalation import queries as paging_queries
from storage import stats
from storage.actors import Actor
from storage.directory import Readable
from storage.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    TocsinError,
    UnknownActor,
)
from storage.models import NOTIFICATION_STATUSES, Person
from storage.queries import MAX_PAGE, IncidentFilter
from storage.views import ActionResult

log = logging.getLogger(__name__)
Handler = Callable[[Request, Container, Actor], Awaitable[Response]]
ERROR_CODES = {NotFound: "not_found", PermissionDenied: "forbidden", UnknownActor: "forbidden",
               InvalidTransition: "conflict", InvalidInput: "invalid_input"}
def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run, and turn every failure into JSON ``{error, detail}`` with its status."""

    async def endpoint(request: Request) -> Response:
        container: Container = request.state.tocsin
        try:
            return await handler(request, container, authenticate(request, container.config))
        except HttpError as exc:
            return exc.response()
        except TocsinError as exc:
            return error_response(exc.status, ERROR_CODES.get(type(exc), "error"), str(exc))
        except DATABASE_FAILURES as exc:
            log.warning("API request failed on the database: %s", type(exc).__name__)
            return unavailable().response()

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def _reader(container: Container, actor: Actor) -> Readable:
    """What the token may read: a role-bound token every team, a person's token their teams (403 otherwise)."""
    return await container.queries.readable(actor)


async def _body(request: Request, container: Container) -> dict[str, Any]:
    """The JSON object sent, or {} for an empty body."""
    raw = await read_body(request, container.settings.max_body_bytes)
    if not raw.strip():
        return {}
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise HttpError(415, "unsupported_media_type", f"send Content-Type: application/json (got {media or 'none'})")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise HttpError(400, "invalid_input", "(body): expected a JSON object")
    return body


async def list_incidents(request: Request, container: Container, actor: Actor) -> Response:
    """Incidents, newest first, filtered by status, severity, team, service, title and when opened."""
    reader = await _reader(container, actor)
    q = request.query_params
    limit, offset = integer(request, "limit", 50), integer(request, "offset", 0)
    if not 1 <= limit <= MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{MAX_PAGE}")
    query = IncidentFilter(statuses=statuses(q.get("status")), severity=severity(q.get("severity")),
                           team=text_filter(request, "team"), service=text_filter(request, "service"),
                           title_contains=text_filter(request, "q"), opened_from=time_filter(request, "opened_from"),
                           opened_to=time_filter(request, "opened_to"), limit=limit, offset=offset)
    views, total = await container.queries.list(query, reader)
    return JSONResponse({"incidents": [render_incident_json(v) for v in views], "total": total})


async def show_incident(request: Request, container: Container, actor: Actor) -> Response:
    """One incident with its alerts and timeline."""
    reader = await _reader(container, actor)
    number = incident_number(request)
    view = await container.queries.get(number, reader)
    alerts = await container.queries.alerts(number, limit=MAX_PAGE)
    return JSONResponse(render_detail_json(view, alerts, await container.queries.timeline(number)))


def _result(result: ActionResult, status: int = 200) -> JSONResponse:
    return JSONResponse({"incident": render_incident_json(result.incident), "changed": result.changed,
                         "message": result.message}, status_code=status)


async def declare_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Declare an incident (201), or return the open one with the same dedup_key (200)."""
    body = await _body(request, container)
    labels = {} if body.get("labels") is None else body["labels"]
    if not isinstance(labels, dict):
        raise HttpError(400, "invalid_input", "labels: expected an object")
    result = await container.incidents.declare(
        actor, body_text(body, "title", required=True) or "", severity=body_text(body, "severity") or "medium",
        service=body_text(body, "service"), team=body_text(body, "team"), description=body_text(body, "description"),
        labels=document(labels), dedup_key=body_text(body, "dedup_key"))
    return _result(result, 201 if result.changed else 200)


async def acknowledge_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Acknowledge an incident (a second acknowledgement changes nothing)."""
    await _body(request, container)
    return _result(await container.incidents.acknowledge(incident_number(request), actor))


async def resolve_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Resolve an incident, with an optional note."""
    body = await _body(request, container)
    return _result(await container.incidents.resolve(incident_number(request), actor, body_text(body, "note")))


async def escalate_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Escalate an incident now."""
    await _body(request, container)
    return _result(await container.incidents.escalate(incident_number(request), actor))


async def cancel_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Cancel an incident (declared by mistake, a duplicate), with an optional reason."""
    body = await _body(request, container)
    return _result(await container.incidents.cancel(incident_number(request), actor, body_text(body, "reason")))


async def add_note(request: Request, container: Container, actor: Actor) -> Response:
    """Add a note to an incident's timeline."""
    body = await _body(request, container)
    return _result(await container.incidents.add_note(incident_number(request), actor, body_text(body, "text", required=True) or ""),
                   201)


async def list_alerts(request: Request, container: Container, actor: Actor) -> Response:
    """Alerts, newest first, optionally of one incident and one status."""
    reader = await _reader(container, actor)
    incident = incident_filter(request)
    status = request.query_params.get("status")
    if status not in (None, "firing", "resolved"):
        raise HttpError(400, "invalid_input", "status: expected firing or resolved")
    limit = integer(request, "limit", 100)
    if not 1 <= limit <= MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{MAX_PAGE}")
    alerts = await container.queries.alerts(incident, status, limit, reader)
    return JSONResponse({"alerts": [render_alert_json(a) for a in alerts]})


async def incident_metrics(request: Request, container: Container, actor: Actor) -> Response:
    """MTTA and MTTR (overall and by team, service, severity) and counts, over a window."""
    reader = await _reader(container, actor)
    raw = request.query_params.get("window", "7d")
    window = parse_window(raw)
    result = await stats.compute(container.db, container.clock.now(), window, text_filter(request, "team"), reader)
    return JSONResponse(render_stats_json(result, raw))


async def _person_id(container: Container, raw: str | None) -> int | None:
    """A person filter: their id, or their email address."""
    if not raw:
        return None
    if not re.match(PERSON_PATTERN, raw):
        raise HttpError(400, "invalid_input", "person: expected a person id or an email address")
    if "@" not in raw:
        return int(raw)
    async with container.db.sessions() as session:
        person_id = await session.scalar(select(Person.id).where(Person.email == raw.strip()))
    if person_id is None:  # well formed, but names nobody: like an unknown incident, a 404
        raise NotFound(f"person: there is no person with email {raw.strip()[:100]!r}")
    return person_id


async def list_notifications(request: Request, container: Container, actor: Actor) -> Response:
    """Notifications (pages and notices), newest first, filtered by incident, person, channel and status."""
    reader = await _reader(container, actor)
    q = request.query_params
    incident = incident_filter(request)
    channel = q.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise HttpError(400, "invalid_input", f"channel: {channel[:40]!r} is not one of {', '.join(CHANNELS)}")
    status = q.get("status")
    if status is not None and status not in NOTIFICATION_STATUS_WORDS:
        raise HttpError(400, "invalid_input", f"status: {status[:40]!r} is not one of "
                        f"{', '.join(s.lower() for s in NOTIFICATION_STATUSES)} (or in capitals)")
    status = status.upper() if status else None
    limit, offset = integer(request, "limit", 50), integer(request, "offset", 0)
    if not 1 <= limit <= paging_queries.MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{paging_queries.MAX_PAGE}")
    found = await paging_queries.notifications(
        container.db, incident=incident, person_id=await _person_id(container, text_filter(request, "person")),
        channel=channel, status=status, limit=limit, offset=offset, teams=reader.teams)
    return JSONResponse({"notifications": found})


async def incident_escalations(request: Request, container: Container, actor: Actor) -> Response:
    """The incident's escalation ledger: every (repeat, step), its timing and status, and its notifications."""
    reader = await _reader(container, actor)
    number = incident_number(request)
    await container.queries.get(number, reader)
    return JSONResponse(await paging_queries.escalations(container.db, number, DEFAULT_POLICY))
