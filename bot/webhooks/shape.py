"""Reading a sender's JSON defensively: every error names the field, every string is made storable."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

MAX_TEXT = 10_000
LEAP_SECOND = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d):60")


class ShapeError(ValueError):
    """The payload is not shaped as documented; ``field`` is the path of the offending value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def clean(value: str, limit: int = MAX_TEXT) -> str:
    """Storable text: PostgreSQL refuses NUL characters and lone surrogates (from \\ud800 escapes)."""
    value = value[:limit].replace("\x00", "")
    if value.isascii():
        return value
    return value.encode("utf-8", "replace").decode("utf-8")


def obj(value: Any, field: str, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ShapeError(field, "expected an object")
    return value


def array(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise ShapeError(field, "expected a list")
    return value


def text(value: Any, field: str, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    """A string (numbers are accepted and written out); empty counts as missing."""
    if value is None or value == "":
        if required:
            raise ShapeError(field, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ShapeError(field, "expected a string")
    written = clean(str(value), limit)
    if not written and required:  # only NUL characters: nothing is left to store
        raise ShapeError(field, "required")
    return written or None


def labels(value: Any, field: str) -> dict[str, str]:
    """A flat object of label names to values; values are written out as strings."""
    result: dict[str, str] = {}
    for key, item in obj(value, field, required=False).items():
        if item is None:
            continue
        if isinstance(item, dict | list):
            raise ShapeError(f"{field}.{key}", "expected a string")
        result[clean(str(key), 200)] = clean(str(item).lower() if isinstance(item, bool) else str(item))
    return result


def document(value: Any, depth: int = 0) -> Any:
    """Free-form JSON (details, annotations), made storable."""
    if depth > 20:
        return None
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k), 200): document(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [document(v, depth + 1) for v in value[:100]]
    return value


def when(value: Any, field: str) -> datetime | None:
    """An RFC 3339 time; Alertmanager's zero time (year 1) and empty mean "not set"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ShapeError(field, "expected an RFC 3339 time")
    written = LEAP_SECOND.sub(r"\1:59", value.strip().upper())  # RFC 3339 allows t, z and second 60
    if written.startswith("0000-"):
        return None
    try:
        parsed = datetime.fromisoformat(written)
    except ValueError:
        raise ShapeError(field, f"{value[:40]!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ShapeError(field, f"{value[:40]!r} is out of range") from None


#: The largest count a column holds (a 32-bit integer); a larger one is stored as this.
MAX_COUNT = 2**31 - 1


def count(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():  # 3.0 is a whole number too (and JSON Schema's integer)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ShapeError(field, "expected a whole number >= 0")
    return min(value, MAX_COUNT)  # "+2147483647 more" says it; a 503 for ever would lose the delivery
