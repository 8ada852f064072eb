"""Reading a JSON request safely and answering errors as JSON ``{error, detail}``.

Shared by the webhooks and the REST API: a body over the limit is 413 (by Content-Length and by
counting what actually arrives), a wrong content type 415, bad JSON 400. Never a 500 for bad input.
"""

from __future__ import annotations

import json
import math
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse

from storage.errors import DatabaseUnavailable

JSON_TYPES = ("application/json",)


class HttpError(Exception):
    """An answer other than success, with a short machine-readable code and a sentence for people."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}

    def response(self, **extra: Any) -> JSONResponse:
        return error_response(self.status, self.error, self.detail, self.headers, **extra)


def error_response(status: int, error: str, detail: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status, headers=headers)


def unavailable(detail: str = "the database is unavailable; retry later") -> HttpError:
    return HttpError(503, "unavailable", detail, {"Retry-After": "5"})


#: Failures that mean "try again later" (the database is down, busy, or a race outlived the retries).
#: ``psycopg.Error``: the ingest's own statements go to the driver directly (``storage.pgdriver``).
DATABASE_FAILURES = (DatabaseUnavailable, DBAPIError, psycopg.Error, sa_exc.TimeoutError, sa_exc.DisconnectionError,
                     OSError, TimeoutError)


def failure_name(exc: BaseException) -> str:
    """The failure's type, and for a refused constraint its name (never the values: they may be secrets)."""
    cause = getattr(exc, "orig", None) or exc
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    return f"{type(exc).__name__} ({constraint})" if constraint else type(exc).__name__


def check_length(request: Request, limit: int) -> None:
    """Refuse early when the declared length is over the limit."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.strip().isdigit():
        raise HttpError(400, "bad_request", "Content-Length is not a number")
    if int(declared) > limit:
        raise too_large(limit)


def too_large(limit: int) -> HttpError:
    return HttpError(413, "payload_too_large", f"the body is over the limit of {limit} bytes")


def check_json_type(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES and not (media.startswith("application/") and media.endswith("+json")):
        shown = media or "none"
        raise HttpError(415, "unsupported_media_type", f"send Content-Type: application/json (got {shown})")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing it with 413 as soon as more than ``limit`` bytes have arrived."""
    check_length(request, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _number(literal: str) -> float | str:
    value = float(literal)
    return value if math.isfinite(value) else literal  # 1e999: kept as written, not as an unstorable infinity


def parse_json(body: bytes) -> Any:
    """The document; a number too large for a float stays the text it was (lossless, storable everywhere)."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_number)
    except UnicodeDecodeError:
        raise HttpError(400, "invalid_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise HttpError(400, "invalid_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                             f"column {exc.colno}") from None
    except RecursionError:
        raise HttpError(400, "invalid_json", "the body is nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, integers too long to convert
        raise HttpError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:100]}") from None


async def read_json(request: Request, limit: int) -> Any:
    """Content type, size and syntax checked: the decoded JSON document."""
    check_json_type(request)
    return parse_json(await read_body(request, limit))
