"""The incident list's filters: a GET form's fields -> an ``IncidentFilter``, or a ``BadFilter`` that
names the field and says what it takes (pure: no database, no request)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from storage.queries import IncidentFilter
from storage.states import ACTIVE, FINAL, Severity, Status

PAGE_SIZE = 50
#: Beyond this a page number is no page anybody paged to (and the offset stays far inside 64 bits).
MAX_PAGE_NUMBER = 100_000
#: Longer than any title, team or service we store.
MAX_TEXT = 500
#: The form's status shorthands, as the board's "open" means: not yet resolved or cancelled.
GROUPS = {"active": tuple(sorted(ACTIVE)), "closed": tuple(sorted(FINAL))}
#: The quick time ranges: opened within the last ...
WITHIN = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
TEXT_FIELDS = ("team", "service", "q")


class BadFilter(ValueError):
    """A filter's value the list cannot use; ``field`` names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.field = name


@dataclass(frozen=True)
class Choice:
    """The filters as the person sent them (the form shows them again, the page's links keep them)."""

    raw: tuple[tuple[str, str], ...] = ()
    page: int = 1

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.raw if k == name]

    def value(self, name: str) -> str:
        return (self.values(name) or [""])[-1]

    def link(self, page: int | None = None, **changed: str) -> str:
        """This list's URL with the same filters but ``changed`` (replacing that field's values; a quick
        range replaces the dates too), at ``page`` (the first when something changed)."""
        dropped = {"page", *changed, *(("from", "to") if "within" in changed else ())}
        pairs = [(k, v) for k, v in self.raw if k not in dropped and v]
        pairs += [(k, v) for k, v in changed.items() if v]
        if page and page > 1:
            pairs.append(("page", str(page)))
        return "/incidents" + (f"?{urlencode(pairs)}" if pairs else "")


def check_team(team: str | None, teams: list[str]) -> None:
    """Refuse a team that is not among ``teams`` (those the person may read), naming the ones that are."""
    if team and team.lower() not in {t.lower() for t in teams}:
        raise BadFilter("team", f"no team you may read is named {team[:40]!r}; choose one of {', '.join(teams) or 'none'}")


def _text(params: Mapping[str, Sequence[str]], name: str) -> str:
    values = params.get(name) or [""]
    value = values[-1].strip()
    if "\x00" in value:
        raise BadFilter(name, "must not contain NUL characters")
    if len(value) > MAX_TEXT:
        raise BadFilter(name, f"at most {MAX_TEXT} characters")
    return value


def _statuses(values: Sequence[str]) -> tuple[Status, ...]:
    chosen: set[Status] = set()
    for value in values:
        if value in ("", "all"):
            continue
        if value in GROUPS:
            chosen.update(GROUPS[value])
            continue
        try:
            chosen.add(Status(value))
        except ValueError:
            words = ", ".join([*(s.value for s in Status), *GROUPS, "all"])
            raise BadFilter("status", f"{value[:40]!r} is not one of {words}") from None
    return tuple(sorted(chosen))


def _severity(value: str) -> Severity | None:
    if not value:
        return None
    try:
        return Severity(value)
    except ValueError:
        raise BadFilter("severity", f"{value[:40]!r} is not one of {', '.join(s.value for s in Severity)}") from None


def _day(name: str, value: str, end: bool) -> datetime | None:
    """A date (YYYY-MM-DD, UTC; a "to" date counts whole) or a date and time (YYYY-MM-DDTHH:MM)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            start = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            return start + timedelta(days=1) if end else start
        at = datetime.fromisoformat(value)
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadFilter(name, f"{value[:40]!r} is not a date like 2026-11-22 (or 2026-11-22T14:30, UTC)") from None


def _page(value: str) -> int:
    if not value:
        return 1
    if not (value.isascii() and value.isdigit()) or len(value) > 6 or not 1 <= int(value) <= MAX_PAGE_NUMBER:
        raise BadFilter("page", f"expected a whole number 1..{MAX_PAGE_NUMBER}")
    return int(value)


def _opened(within: str, opened_from: str, opened_to: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    if within and within not in WITHIN:
        raise BadFilter("within", f"{within[:40]!r} is not one of {', '.join(WITHIN)}")
    if within and (opened_from or opened_to):
        raise BadFilter("within", "choose a quick range or from/to dates, not both")
    if within:
        return now - WITHIN[within], None
    start, end = _day("from", opened_from, end=False), _day("to", opened_to, end=True)
    if start and end and end <= start:
        raise BadFilter("to", "must be after from")
    return start, end


def chosen(params: Mapping[str, Sequence[str]]) -> tuple[tuple[str, str], ...]:
    """Every field and value sent, in order."""
    return tuple((k, v.replace("\x00", "")) for k, values in params.items() for v in values)


def parse(params: Mapping[str, Sequence[str]], now: datetime) -> tuple[Choice, IncidentFilter]:
    """The person's choice and the filter it means (``params``: each field's values, as a query string
    has them); ``BadFilter`` for a value it cannot mean."""
    texts = {name: _text(params, name) for name in (*TEXT_FIELDS, "severity", "within", "from", "to", "page")}
    statuses = _statuses([v.strip() for v in params.get("status", [])])
    severity, page = _severity(texts["severity"]), _page(texts["page"])
    opened_from, opened_to = _opened(texts["within"], texts["from"], texts["to"], now)
    choice = Choice(chosen(params), page)
    query = IncidentFilter(statuses=statuses, severity=severity, team=texts["team"] or None,
                           service=texts["service"] or None, title_contains=texts["q"] or None,
                           opened_from=opened_from, opened_to=opened_to, limit=PAGE_SIZE,
                           offset=(page - 1) * PAGE_SIZE)
    return choice, query
