"""``GET/POST /api/maintenance`` and ``DELETE /api/maintenance/{id}``: maintenance windows (docs/noise.md).

Opening or ending one is role-gated in storage/maintenance.py: team lead or above for a team's window,
admin for a window without a team. Reading needs any token that may read incidents.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.endpoints import _body
from bot.api.params import body_span, body_text, whole_id
from bot.container import Container
from bot.webhooks.http import HttpError
from storage import maintenance
from storage.actors import Actor


def _labels(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("labels")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v for v in raw.values()) \
            or not all(k and "\x00" not in k and "\x00" not in v for k, v in raw.items()):
        raise HttpError(400, "invalid_input", "labels: expected an object of label names to non-empty strings, "
                                              'e.g. {"env": "staging"}')
    return dict(raw)


async def list_windows(request: Request, container: Container, actor: Actor) -> Response:
    """The windows running now or to come, soonest first."""
    await container.queries.readable(actor)
    async with container.db.sessions() as session:
        found = await maintenance.listing(session, container.clock.now())
    return JSONResponse({"windows": [w.to_json() for w in found]})


async def create_window(request: Request, container: Container, actor: Actor) -> Response:
    """Open a window for a team, a service and/or labels, from start (default now) to end or for a duration."""
    body, now = await _body(request, container), container.clock.now()
    start, end = body_span(body, now)
    team, service = body_text(body, "team"), body_text(body, "service")
    labels, reason = _labels(body), body_text(body, "reason")
    async with container.db.transaction() as session:
        made = await maintenance.create(session, actor, team, service, labels, start, end, reason, now)
    return JSONResponse({"window": made.to_json()}, status_code=201)


async def end_window(request: Request, container: Container, actor: Actor) -> Response:
    """End a window now (or drop one still to come); paging resumes within 30 seconds."""
    window_id = whole_id(request, "id", "maintenance window")
    async with container.db.transaction() as session:
        ended = await maintenance.end(session, actor, window_id, container.clock.now())
    return JSONResponse({"window": ended.to_json()})
