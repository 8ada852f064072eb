"""JSON answers for a path no route serves (404) and a method no route allows there (405), under /api/
and on the webhook paths (/webhooks/, /v2/enqueue), whose callers read JSON errors.

Elsewhere (Slack, Telegram, health) Starlette's plain-text answers stay as they were.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match

from bot.webhooks.http import error_response

WEBHOOK_ENDPOINTS = ("/webhooks/alertmanager", "/webhooks/elastic", "/webhooks/generic", "/v2/enqueue")


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _is_webhook(path: str) -> bool:
    return path.startswith(("/webhooks/", "/v2/enqueue")) or path == "/webhooks"


def _plain(exc: HTTPException) -> Response:
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method served at the request's path: each route serves one, so ask every route, not the first."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


async def handle_not_found(request: Request, exc: Exception) -> Response:
    """404 ``not_found`` for an unknown /api/ path, naming where the routes are listed."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if _is_webhook(path):
        return error_response(404, "not_found", f"no webhook endpoint at {path}; they are POST "
                                                f"{', '.join(WEBHOOK_ENDPOINTS)}")
    if not _is_api(path):
        return _plain(exc)
    return error_response(404, "not_found", f"the API has no route {path}; GET /api/openapi.json lists every route")


async def handle_method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 ``method_not_allowed`` with an Allow header listing every method the path serves."""
    assert isinstance(exc, HTTPException)
    if not (_is_api(request.url.path) or _is_webhook(request.url.path)):
        return _plain(exc)
    allowed = allowed_methods(request)
    return error_response(405, "method_not_allowed",
                          f"{request.url.path} does not allow {request.method}; it allows {', '.join(allowed)}",
                          {"Allow": ", ".join(allowed)})


HANDLERS = {404: handle_not_found, 405: handle_method_not_allowed}
