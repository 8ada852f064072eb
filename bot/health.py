"""Liveness and readiness."""

from __future__ import annotations

import logging

from psycopg.errors import ConnectionTimeout
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.surface import Surface
from storage.db import deadline
from storage.errors import DatabaseTimeout
from storage.migrations import is_current

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving HTTP."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers, within the connect timeout, and is migrated to the code's schema."""
    db = request.state.tocsin.db
    try:
        async with deadline(db.connect_timeout):
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            current = await is_current(db.engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        if isinstance(exc, DatabaseTimeout) or isinstance(getattr(exc, "orig", None), ConnectionTimeout):
            return _unready(f"the database does not answer (nothing within {db.connect_timeout:g} s)")
        return _unready("database unreachable")
    if not current:
        return _unready("database schema is not current; run tocsin migrate")
    return JSONResponse({"status": "ready"})


def _unready(detail: str) -> JSONResponse:
    return JSONResponse({"status": "unready", "detail": detail}, status_code=503)


def surface() -> Surface:
    return Surface("health", routes=[Route("/healthz", healthz), Route("/readyz", readyz)])
