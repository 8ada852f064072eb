"""The incident list ``/incidents``: every incident the person may read, newest first, as a table, with
filters in a plain GET form (``bot.console.filters``) and pages of ``filters.PAGE_SIZE``."""

from __future__ import annotations

from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.console import filters, render, routes
from bot.console.charts import duration
from bot.console.filters import BadFilter, Choice
from bot.console.signin import Visitor
from storage.states import Severity, Status
from storage.views import IncidentView

QUICK_STATUS = (("active", "Active"), ("closed", "Closed"), ("", "All statuses"))
QUICK_WITHIN = (("24h", "Last 24 h"), ("7d", "Last 7 d"), ("30d", "Last 30 d"))
HEAD = ("#", "Title", "Severity", "Status", "Team", "Service", "Opened", "Acknowledged", "Closed", "To ack",
        "To resolve")


async def handle_list(request: Request) -> Response:
    """The incidents the person may read that match the form's filters, a page at a time."""
    visitor = await routes.visitor_of(request)
    if visitor is None:
        return routes.to_sign_in()
    container = routes.container_of(request)
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    teams = await container.queries.team_names(visitor.readable)
    try:
        choice, query = filters.parse(params, container.clock.now())
        filters.check_team(query.team, teams)
    except BadFilter as exc:
        page = render_list_html(visitor, Choice(filters.chosen(params)), teams, [], 0, str(exc))
        return HTMLResponse(page, 400, headers={"Cache-Control": "no-store"})
    views, total = await container.queries.list(query, visitor.readable)
    page = render_list_html(visitor, choice, teams, views, total)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def _when(at: datetime | None) -> str:
    return f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M")}</time>' if at else "-"


def _took(start: datetime, end: datetime | None) -> str:
    return duration((end - start).total_seconds()) if end else "-"


def _row(v: IncidentView) -> str:
    acked = f"{escape(v.acknowledged_by.name)}, {_when(v.acknowledged_at)}" if v.acknowledged_by else \
        _when(v.acknowledged_at)
    closed = "-"
    if v.status.is_final and v.resolved_at:
        closed = f"{escape(v.resolved_by.name if v.resolved_by else 'the system')}, {_when(v.resolved_at)}"
    to_resolve = _took(v.created_at, v.resolved_at) if v.status is Status.RESOLVED else "-"
    cells = (f'<a href="/incidents/{v.number}">{v.ref}</a>', escape(v.title), v.severity.value, v.status.value,
             escape(v.team.name) if v.team else "-", escape(v.service or "-"), _when(v.created_at), acked, closed,
             _took(v.created_at, v.acknowledged_at), to_resolve)
    return f'<tr class="sev-{v.severity.value}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _options(name: str, chosen: str, choices: list[tuple[str, str]], label: str) -> str:
    options = "".join(f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>{escape(text)}'
                      '</option>' for value, text in choices)
    return f'<label>{label} <select name="{name}">{options}</select></label>'


def _input(kind: str, name: str, label: str, choice: Choice, extra: str = "") -> str:
    return (f'<label>{label} <input type="{kind}" name="{name}" value="{escape(choice.value(name))}"{extra}>'
            '</label>')


def _statuses(choice: Choice) -> str:
    chosen = set(choice.values("status"))
    for group, members in filters.GROUPS.items():
        if group in chosen:
            chosen |= {s.value for s in members}
    boxes = "".join(f'<label><input type="checkbox" name="status" value="{s.value}"'
                    f'{" checked" if s.value in chosen else ""}> {s.value}</label>' for s in Status)
    return f'<fieldset><legend>Status</legend>{boxes}</fieldset>'


def render_filters_html(choice: Choice, teams: list[str]) -> str:
    """The GET form (it works without JavaScript) and the quick links, which keep the other filters."""
    fields = [
        _input("search", "q", "Title contains", choice, ' size="24"'),
        _options("team", choice.value("team"), [("", "Any team"), *((t, t) for t in teams)], "Team"),
        _statuses(choice),
        _options("severity", choice.value("severity"), [("", "Any"), *((s.value, s.value) for s in Severity)],
                 "Severity"),
        _input("text", "service", "Service", choice, ' size="14"'),
        _options("within", choice.value("within"), [("", "Any time"), *QUICK_WITHIN], "Opened"),
        _input("date", "from", "from", choice), _input("date", "to", "to (inclusive)", choice),
    ]
    quick = [f'<a href="{escape(choice.link(status=v))}">{label}</a>' for v, label in QUICK_STATUS]
    quick += [f'<a href="{escape(choice.link(within=v))}">{label}</a>' for v, label in QUICK_WITHIN]
    return (f'<form method="get" action="/incidents" class="filters">{"".join(fields)}'
            '<button type="submit">Filter</button> <a href="/incidents">Clear</a></form>'
            f'<p class="quick">{"".join(quick)}</p>')


def _pages(choice: Choice, total: int) -> str:
    last = max(1, -(-total // filters.PAGE_SIZE))
    links = []
    if choice.page > 1:
        links.append(f'<a rel="prev" href="{escape(choice.link(min(choice.page - 1, last)))}">Previous</a>')
    links.append(f"<span>Page {choice.page} of {last}</span>")
    if choice.page < last:
        links.append(f'<a rel="next" href="{escape(choice.link(choice.page + 1))}">Next</a>')
    return f'<nav class="pages" aria-label="Pages">{"".join(links)}</nav>'


def render_table_html(choice: Choice, views: list[IncidentView], total: int) -> str:
    """How many match, the page's table of them, the links to the pages before and after."""
    if not total:
        return '<p class="empty">No incidents match these filters.</p>'
    first = (choice.page - 1) * filters.PAGE_SIZE + 1
    shown = f"{first}-{first + len(views) - 1}" if views else "none on this page"
    matches = "1 incident matches" if total == 1 else f"{total} incidents match"
    summary = f'<p class="summary">{matches}; showing {shown}.</p>'
    head = "".join(f'<th scope="col">{h}</th>' for h in HEAD)
    rows = "".join(_row(v) for v in views)
    return f'{summary}<table class="list incidents"><tr>{head}</tr>{rows}</table>{_pages(choice, total)}'


def render_list_html(visitor: Visitor, choice: Choice, teams: list[str], views: list[IncidentView], total: int,
                     problem: str | None = None) -> str:
    """The list page: the filters, then the table (or what was wrong with a filter, naming it)."""
    said = f'<p class="reply error" role="alert">{escape(problem)}</p>' if problem else ""
    table = "" if problem else render_table_html(choice, views, total)
    body = (f'{render.render_header_html(visitor.actor.display_name, visitor.csrf, "/incidents")}'
            f'<main class="wide"><h2>Incidents</h2>{render_filters_html(choice, teams)}{said}{table}</main>')
    return render.PAGE.format(title="Tocsin: incidents", body=body)
