"""The REST API's query parameters and body fields: each checked as the OpenAPI document states it, a
400 naming it otherwise (openapi.py uses the same patterns and limits)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from starlette.requests import Request

from bot.commands.grammar import parse_duration
from bot.webhooks.http import HttpError
from bot.webhooks.shape import ShapeError, clean, when
from storage.errors import NotFound
from storage.models import NOTIFICATION_STATUSES, Incident
from storage.states import ACTIVE, Severity, Status

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


def body_text(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    """A string field of a JSON body, made storable; null or "" is not given."""
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


def body_time(body: dict[str, Any], key: str, zone: tzinfo = UTC, zone_said: str = "UTC") -> datetime | None:
    """An ISO time field of a JSON body, in UTC; without an offset it is in ``zone`` (named ``zone_said``)."""
    raw = body_text(body, key)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise HttpError(400, "invalid_input", f"{key}: {raw!r} is not an ISO time such as 2026-12-04T09:00:00Z "
                                              f"(without an offset: {zone_said})") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def body_span(body: dict[str, Any], now: datetime, zone: tzinfo = UTC, zone_said: str = "UTC"
              ) -> tuple[datetime, datetime]:
    """From ``start`` (default now) to ``end`` or for ``duration`` (exactly one of them), of a JSON body."""
    start = body_time(body, "start", zone, zone_said) or now
    end, duration = body_time(body, "end", zone, zone_said), body_text(body, "duration")
    if (end is None) == (duration is None):
        raise HttpError(400, "invalid_input", "end or duration: give exactly one (duration like 30m, 4h or 2d)")
    if duration is None:
        assert end is not None
        return start, end
    try:
        return start, start + parse_duration(duration)
    except ValueError:
        raise HttpError(400, "invalid_input", f"duration: {duration!r} is not like 30m, 4h or 2d") from None


def _whole(raw: str, lowest: int, highest: int) -> int | None:
    """The number written in ASCII digits, or None when it is not one or out of range."""
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > len(str(highest)):
        return None
    value = int(raw)
    return value if lowest <= value <= highest else None


def integer(request: Request, key: str, default: int, lowest: int = 0, highest: int = MAX_OFFSET) -> int:
    """An integer query parameter; present but empty, or out of range, is a 400 naming it."""
    raw = request.query_params.get(key)
    if raw is None:
        return default
    value = _whole(raw, lowest, highest)
    if value is None:
        raise HttpError(400, "invalid_input", f"{key}: expected a whole number {lowest}..{highest}")
    return value


def incident_filter(request: Request) -> int | None:
    """The ``incident`` filter: an incident number, or None when absent."""
    if "incident" not in request.query_params:
        return None
    return integer(request, "incident", 0, 1, MAX_INCIDENT)


def text_filter(request: Request, key: str) -> str | None:
    """A free-text filter; empty means no filter; NUL (which the database refuses) is a 400 naming it."""
    value = request.query_params.get(key) or None
    if value is not None and "\x00" in value:
        raise HttpError(400, "invalid_input", f"{key}: must not contain NUL characters")
    return value


def time_filter(request: Request, key: str) -> datetime | None:
    """An RFC 3339 time filter; empty means no filter; anything else is a 400 naming it."""
    raw = request.query_params.get(key) or None
    try:
        return when(raw, key)
    except ShapeError as exc:
        raise HttpError(400, "invalid_input", str(exc)) from None


def incident_number(request: Request) -> int:
    """The path's incident number; anything else names no incident (404)."""
    raw = request.path_params["number"]
    number = _whole(raw, 1, MAX_INCIDENT)
    if number is None:
        raise NotFound(f"there is no incident #{raw[:40]}")
    return number


def whole_id(request: Request, key: str, what: str) -> int:
    """The path's row id ``key``; anything but a whole number names no row (404)."""
    raw = request.path_params[key]
    number = _whole(raw, 1, 2**31 - 1)
    if number is None:
        raise NotFound(f"there is no {what} {raw[:40]!r}")
    return number


def statuses(raw: str | None) -> tuple[Status, ...]:
    """The comma-separated ``status`` filter; ``active`` is open, escalating and acknowledged."""
    if raw is None:
        return ()
    chosen: set[Status] = set()
    for word in raw.split(","):
        if word == "active":
            chosen |= ACTIVE
            continue
        try:
            chosen.add(Status(word))
        except ValueError:
            raise HttpError(400, "invalid_input",
                            f"status: {word!r} is not one of active, {', '.join(s.value for s in Status)}") from None
    return tuple(sorted(chosen))


def severity(raw: str | None) -> Severity | None:
    """The ``severity`` filter, written exactly."""
    if raw is None:
        return None
    try:
        return Severity(raw)
    except ValueError:
        raise HttpError(400, "invalid_input",
                        f"severity: {raw!r} is not one of {', '.join(s.value for s in Severity)}") from None


def parse_window(raw: str) -> timedelta:
    """1 to 9999 minutes, hours, days or weeks (WINDOW_PATTERN, which the OpenAPI document states too)."""
    if not WINDOW.match(raw):
        raise HttpError(400, "invalid_input", f"window: {raw[:40]!r} is not a duration like 30m, 24h, 7d or 4w "
                                              "(1 to 9999 of m, h, d or w)")
    return timedelta(**{UNITS[raw[-1]]: int(raw[:-1])})
