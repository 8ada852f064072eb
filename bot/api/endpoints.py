"""REST API endpoints: list, show, declare and act on incidents; alerts; MTTA/MTTR metrics; the escalation
ledger and the notification outbox."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.auth import authenticate
from bot.api.render import render_alert_json, render_detail_json, render_incident_json, render_stats_json
from bot.container import Container
from bot.webhooks.http import DATABASE_FAILURES, HttpError, error_response, parse_json, read_body, unavailable
from bot.webhooks.shape import clean, document
from escalation import queries as paging_queries
from escalation.policy import CHANNELS
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
from storage.states import ACTIVE, Severity, Status
from storage.views import ActionResult

log = logging.getLogger(__name__)
Handler = Callable[[Request, Container, Actor], Awaitable[Response]]
ERROR_CODES = {NotFound: "not_found", PermissionDenied: "forbidden", UnknownActor: "forbidden",
               InvalidTransition: "conflict", InvalidInput: "invalid_input"}
WINDOW = re.compile(r"^(\d{1,4})([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run, and turn every failure into JSON ``{error, detail}`` with its status."""

    async def endpoint(request: Request) -> Response:
        container: Container = request.app.state.container
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


def _str(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise HttpError(400, "invalid_input", f"{key}: required")
        return None
    if not isinstance(value, str):
        raise HttpError(400, "invalid_input", f"{key}: expected a string")
    return clean(value)


def _int(request: Request, key: str, default: int) -> int:
    value = request.query_params.get(key)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise HttpError(400, "invalid_input", f"{key}: expected a whole number")
    return int(value)


def _number(request: Request) -> int:
    raw = request.path_params["number"]
    if not raw.isdigit() or len(raw) > 9:
        raise NotFound(f"there is no incident #{raw}")
    return int(raw)


def _statuses(raw: str | None) -> tuple[Status, ...]:
    if not raw:
        return ()
    statuses: set[Status] = set()
    for word in raw.split(","):
        word = word.strip().lower()
        if word == "active":
            statuses |= ACTIVE
            continue
        try:
            statuses.add(Status(word))
        except ValueError:
            raise HttpError(400, "invalid_input",
                            f"status: {word!r} is not one of active, {', '.join(s.value for s in Status)}") from None
    return tuple(sorted(statuses))


def _severity(raw: str | None) -> Severity | None:
    if not raw:
        return None
    try:
        return Severity(raw.lower())
    except ValueError:
        raise HttpError(400, "invalid_input",
                        f"severity: {raw!r} is not one of {', '.join(s.value for s in Severity)}") from None


async def list_incidents(request: Request, container: Container, actor: Actor) -> Response:
    """Incidents, newest first, filtered by status, severity, team and service."""
    reader = await _reader(container, actor)
    q = request.query_params
    limit, offset = _int(request, "limit", 50), _int(request, "offset", 0)
    if not 1 <= limit <= MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{MAX_PAGE}")
    query = IncidentFilter(statuses=_statuses(q.get("status")), severity=_severity(q.get("severity")),
                           team=q.get("team") or None, service=q.get("service") or None, limit=limit, offset=offset)
    views, total = await container.queries.list(query, reader)
    return JSONResponse({"incidents": [render_incident_json(v) for v in views], "total": total})


async def show_incident(request: Request, container: Container, actor: Actor) -> Response:
    """One incident with its alerts and timeline."""
    reader = await _reader(container, actor)
    number = _number(request)
    view = await container.queries.get(number, reader)
    alerts = await container.queries.alerts(number, limit=MAX_PAGE)
    return JSONResponse(render_detail_json(view, alerts, await container.queries.timeline(number)))


def _result(result: ActionResult, status: int = 200) -> JSONResponse:
    return JSONResponse({"incident": render_incident_json(result.incident), "changed": result.changed,
                         "message": result.message}, status_code=status)


async def declare_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Declare an incident (201), or return the open one with the same dedup_key (200)."""
    body = await _body(request, container)
    labels = body.get("labels") or {}
    if not isinstance(labels, dict):
        raise HttpError(400, "invalid_input", "labels: expected an object")
    result = await container.incidents.declare(
        actor, _str(body, "title", required=True) or "", severity=_str(body, "severity") or "medium",
        service=_str(body, "service"), team=_str(body, "team"), description=_str(body, "description"),
        labels=document(labels), dedup_key=_str(body, "dedup_key"))
    return _result(result, 201 if result.changed else 200)


async def acknowledge_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Acknowledge an incident (a second acknowledgement changes nothing)."""
    await _body(request, container)
    return _result(await container.incidents.acknowledge(_number(request), actor))


async def resolve_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Resolve an incident, with an optional note."""
    body = await _body(request, container)
    return _result(await container.incidents.resolve(_number(request), actor, _str(body, "note")))


async def escalate_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Escalate an incident now."""
    await _body(request, container)
    return _result(await container.incidents.escalate(_number(request), actor))


async def cancel_incident(request: Request, container: Container, actor: Actor) -> Response:
    """Cancel an incident (declared by mistake, a duplicate), with an optional reason."""
    body = await _body(request, container)
    return _result(await container.incidents.cancel(_number(request), actor, _str(body, "reason")))


async def add_note(request: Request, container: Container, actor: Actor) -> Response:
    """Add a note to an incident's timeline."""
    body = await _body(request, container)
    return _result(await container.incidents.add_note(_number(request), actor, _str(body, "text", required=True) or ""),
                   201)


async def list_alerts(request: Request, container: Container, actor: Actor) -> Response:
    """Alerts, newest first, optionally of one incident and one status."""
    reader = await _reader(container, actor)
    incident = request.query_params.get("incident")
    if incident is not None and not incident.isdigit():
        raise HttpError(400, "invalid_input", "incident: expected an incident number")
    status = request.query_params.get("status") or None
    if status not in (None, "firing", "resolved"):
        raise HttpError(400, "invalid_input", "status: expected firing or resolved")
    limit = _int(request, "limit", 100)
    if not 1 <= limit <= MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{MAX_PAGE}")
    alerts = await container.queries.alerts(int(incident) if incident else None, status, limit, reader)
    return JSONResponse({"alerts": [render_alert_json(a) for a in alerts]})


def parse_window(raw: str) -> timedelta:
    match = WINDOW.match(raw.strip().lower())
    if not match:
        raise HttpError(400, "invalid_input", f"window: {raw!r} is not a duration like 30m, 24h, 7d or 4w")
    window = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if not timedelta(minutes=1) <= window <= timedelta(days=3660):
        raise HttpError(400, "invalid_input", "window: expected between 1m and 3660d")
    return window


async def incident_metrics(request: Request, container: Container, actor: Actor) -> Response:
    """MTTA and MTTR (overall and by team, service, severity) and counts, over a window."""
    reader = await _reader(container, actor)
    raw = request.query_params.get("window") or "7d"
    window = parse_window(raw)
    result = await stats.compute(container.db, container.clock.now(), window, request.query_params.get("team") or None,
                                 reader)
    return JSONResponse(render_stats_json(result, raw))


async def _person_id(container: Container, raw: str | None) -> int | None:
    """A person filter: their id, or their email address."""
    if not raw:
        return None
    if raw.isdigit() and len(raw) <= 9:
        return int(raw)
    if "@" not in raw:
        raise HttpError(400, "invalid_input", "person: expected a person id or an email address")
    async with container.db.sessions() as session:
        person_id = await session.scalar(select(Person.id).where(Person.email == raw.strip()))
    if person_id is None:
        raise HttpError(400, "invalid_input", f"person: there is no person with email {raw.strip()!r}")
    return person_id


async def list_notifications(request: Request, container: Container, actor: Actor) -> Response:
    """Notifications (pages and notices), newest first, filtered by incident, person, channel and status."""
    reader = await _reader(container, actor)
    q = request.query_params
    incident = q.get("incident") or None
    if incident is not None and not (incident.isdigit() and len(incident) <= 9):
        raise HttpError(400, "invalid_input", "incident: expected an incident number")
    channel = (q.get("channel") or "").lower() or None
    if channel is not None and channel not in CHANNELS:
        raise HttpError(400, "invalid_input", f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    status = (q.get("status") or "").upper() or None
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise HttpError(400, "invalid_input", f"status: {status.lower()!r} is not one of "
                        f"{', '.join(s.lower() for s in NOTIFICATION_STATUSES)}")
    limit, offset = _int(request, "limit", 50), _int(request, "offset", 0)
    if not 1 <= limit <= paging_queries.MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{paging_queries.MAX_PAGE}")
    found = await paging_queries.notifications(
        container.db, incident=int(incident) if incident else None, person_id=await _person_id(container, q.get("person")),
        channel=channel, status=status, limit=limit, offset=offset, teams=reader.teams)
    return JSONResponse({"notifications": found})


async def incident_escalations(request: Request, container: Container, actor: Actor) -> Response:
    """The incident's escalation ledger: every (repeat, step), its timing and status, and its notifications."""
    reader = await _reader(container, actor)
    number = _number(request)
    await container.queries.get(number, reader)
    return JSONResponse(await paging_queries.escalations(container.db, number))
