"""Liveness and readiness."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.container import Container
from bot.surface import Surface
from storage.migrations import is_current

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving HTTP."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers and is migrated to the code's schema: safe to send traffic."""
    container: Container = request.app.state.container
    try:
        async with container.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        if not await is_current(container.db.engine):
            return JSONResponse({"status": "unready", "detail": "database schema is not current; run tocsin migrate"},
                                status_code=503)
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "unready", "detail": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


def setup(container: Container) -> Surface:
    return Surface("health", routes=[Route("/healthz", healthz), Route("/readyz", readyz)])
