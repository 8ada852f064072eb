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
from storage.models import NOTIFICATION_STATUSES, Incident, Person
from storage.queries import MAX_PAGE, IncidentFilter
from storage.states import ACTIVE, Severity, Status
from storage.views import ActionResult

log = logging.getLogger(__name__)
Handler = Callable[[Request, Container, Actor], Awaitable[Response]]
ERROR_CODES = {NotFound: "not_found", PermissionDenied: "forbidden", UnknownActor: "forbidden",
               InvalidTransition: "conflict", InvalidInput: "invalid_input"}
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: 1 to 9999 of a unit: four digits at most, not all zeros (spelled out: OpenAPI patterns have no lookahead).
WINDOW_PATTERN = "^([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])[mhdw]$"
WINDOW = re.compile(WINDOW_PATTERN)
#: A person filter: an id (up to 9 digits) or an email address; empty means everyone.
PERSON_PATTERN = "^([0-9]{0,9}|[^\\x00@]*@[^\\x00]*)$"
#: The largest offset both databases take (a 64-bit integer), and the largest incident number (a 32-bit column).
MAX_OFFSET, MAX_INCIDENT = 2**63 - 1, 2**31 - 1
#: Declared fields stored in a column of bounded length (the title is cut to its column by the core).
COLUMN_LIMITS = {name: Incident.__table__.c[name].type.length for name in ("service", "dedup_key")}
NOTIFICATION_STATUS_WORDS = (*(s.lower() for s in NOTIFICATION_STATUSES), *NOTIFICATION_STATUSES)


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
    written = clean(value)
    if key in COLUMN_LIMITS and len(written) > COLUMN_LIMITS[key]:  # PostgreSQL refuses it; SQLite kept it
        raise HttpError(400, "invalid_input", f"{key}: at most {COLUMN_LIMITS[key]} characters")
    return written


def _whole(raw: str, lowest: int, highest: int) -> int | None:
    """The number written in ASCII digits, or None when it is not one or out of range."""
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > len(str(highest)):
        return None
    value = int(raw)
    return value if lowest <= value <= highest else None


def _int(request: Request, key: str, default: int, lowest: int = 0, highest: int = MAX_OFFSET) -> int:
    """An integer query parameter; present but empty, or out of range, is a 400 naming it."""
    raw = request.query_params.get(key)
    if raw is None:
        return default
    value = _whole(raw, lowest, highest)
    if value is None:
        raise HttpError(400, "invalid_input", f"{key}: expected a whole number {lowest}..{highest}")
    return value


def _incident(request: Request) -> int | None:
    if "incident" not in request.query_params:
        return None
    return _int(request, "incident", 0, 1, MAX_INCIDENT)


def _text(request: Request, key: str) -> str | None:
    """A free-text filter; empty means no filter; NUL (which the database refuses) is a 400 naming it."""
    value = request.query_params.get(key) or None
    if value is not None and "\x00" in value:
        raise HttpError(400, "invalid_input", f"{key}: must not contain NUL characters")
    return value


def _number(request: Request) -> int:
    raw = request.path_params["number"]
    number = _whole(raw, 1, MAX_INCIDENT)
    if number is None:
        raise NotFound(f"there is no incident #{raw[:40]}")
    return number


def _statuses(raw: str | None) -> tuple[Status, ...]:
    if raw is None:
        return ()
    statuses: set[Status] = set()
    for word in raw.split(","):
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
    if raw is None:
        return None
    try:
        return Severity(raw)
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
                           team=_text(request, "team"), service=_text(request, "service"), limit=limit, offset=offset)
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
    labels = {} if body.get("labels") is None else body["labels"]
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
    incident = _incident(request)
    status = request.query_params.get("status")
    if status not in (None, "firing", "resolved"):
        raise HttpError(400, "invalid_input", "status: expected firing or resolved")
    limit = _int(request, "limit", 100)
    if not 1 <= limit <= MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{MAX_PAGE}")
    alerts = await container.queries.alerts(incident, status, limit, reader)
    return JSONResponse({"alerts": [render_alert_json(a) for a in alerts]})


def parse_window(raw: str) -> timedelta:
    """1 to 9999 minutes, hours, days or weeks (WINDOW_PATTERN, which the OpenAPI document states too)."""
    if not WINDOW.match(raw):
        raise HttpError(400, "invalid_input", f"window: {raw[:40]!r} is not a duration like 30m, 24h, 7d or 4w "
                                              "(1 to 9999 of m, h, d or w)")
    return timedelta(**{UNITS[raw[-1]]: int(raw[:-1])})


async def incident_metrics(request: Request, container: Container, actor: Actor) -> Response:
    """MTTA and MTTR (overall and by team, service, severity) and counts, over a window."""
    reader = await _reader(container, actor)
    raw = request.query_params.get("window", "7d")
    window = parse_window(raw)
    result = await stats.compute(container.db, container.clock.now(), window, _text(request, "team"), reader)
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
    incident = _incident(request)
    channel = q.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise HttpError(400, "invalid_input", f"channel: {channel[:40]!r} is not one of {', '.join(CHANNELS)}")
    status = q.get("status")
    if status is not None and status not in NOTIFICATION_STATUS_WORDS:
        raise HttpError(400, "invalid_input", f"status: {status[:40]!r} is not one of "
                        f"{', '.join(s.lower() for s in NOTIFICATION_STATUSES)} (or in capitals)")
    status = status.upper() if status else None
    limit, offset = _int(request, "limit", 50), _int(request, "offset", 0)
    if not 1 <= limit <= paging_queries.MAX_PAGE:
        raise HttpError(400, "invalid_input", f"limit: expected 1..{paging_queries.MAX_PAGE}")
    found = await paging_queries.notifications(
        container.db, incident=incident, person_id=await _person_id(container, _text(request, "person")),
        channel=channel, status=status, limit=limit, offset=offset, teams=reader.teams)
    return JSONResponse({"notifications": found})


async def incident_escalations(request: Request, container: Container, actor: Actor) -> Response:
    """The incident's escalation ledger: every (repeat, step), its timing and status, and its notifications."""
    reader = await _reader(container, actor)
    number = _number(request)
    await container.queries.get(number, reader)
    return JSONResponse(await paging_queries.escalations(container.db, number))
