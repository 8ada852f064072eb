"""The stats page ``/stats``: MTTA and MTTR over time per team, and incidents by severity, as inline SVG
with the same numbers in tables, over the incidents the person may read (``storage.stats.trend``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.console import render, routes
from bot.console.charts import duration, render_bar_chart_svg, render_figure_html, render_line_chart_svg
from bot.console.filters import BadFilter, check_team
from bot.console.signin import Visitor
from storage.stats import Durations, Trend, trend

WINDOWS = (7, 30, 90)
DEFAULT_DAYS = 30
#: The cards' severity colours (console.css), for the bars.
SEVERITY_COLOURS = ("#bf2600", "#ff8b00", "#ffc400", "#6b778c")


def _choice(request: Request, teams: list[str]) -> tuple[int, str | None]:
    """The window in days and the team, from the form; ``BadFilter`` naming the field otherwise."""
    raw_days = request.query_params.get("days", "") or str(DEFAULT_DAYS)
    if raw_days not in {str(d) for d in WINDOWS}:
        raise BadFilter("days", f"{raw_days[:40]!r} is not one of {', '.join(map(str, WINDOWS))}")
    team = request.query_params.get("team", "").strip() or None
    check_team(team, teams)
    return int(raw_days), team


async def handle_stats(request: Request) -> Response:
    """The charts for the window and team the form chose."""
    visitor = await routes.visitor_of(request)
    if visitor is None:
        return routes.to_sign_in()
    container = routes.container_of(request)
    teams = await container.queries.team_names(visitor.readable)
    try:
        days, team = _choice(request, teams)
    except BadFilter as exc:
        page = render_stats_html(visitor, None, teams, DEFAULT_DAYS, None, str(exc))
        return HTMLResponse(page, 400, headers={"Cache-Control": "no-store"})
    figures = await trend(container.db, container.clock.now(), days, team, visitor.readable)
    return HTMLResponse(render_stats_html(visitor, figures, teams, days, team),
                        headers={"Cache-Control": "no-store"})


def _ms(d: Durations) -> tuple[str, str]:
    return (duration(d.mtta_seconds) if d.mtta_seconds is not None else "-",
            duration(d.mttr_seconds) if d.mttr_seconds is not None else "-")


def _period(figures: Trend, start: datetime, short: bool) -> str:
    if figures.step.days == 1:
        return start.strftime("%m-%d" if short else "%Y-%m-%d")
    return start.strftime("%m-%d") if short else f"week of {start:%Y-%m-%d}"


def render_team_figure_html(figures: Trend, name: str, index: int) -> str:
    """One team's MTTA and MTTR per period: a line chart, then the table of the same numbers."""
    slots = figures.by_team[name]
    labels = [_period(figures, s, short=True) for s in figures.starts]
    long = [_period(figures, s, short=False) for s in figures.starts]
    series = {"MTTA": [d.mtta_seconds for d in slots], "MTTR": [d.mttr_seconds for d in slots]}
    tips = {key: [f"{when}: {key} {duration(v)} ({d.count} incident{'s' if d.count != 1 else ''})"
                  if v is not None else "" for when, v, d in zip(long, values, slots, strict=True)]
            for key, values in series.items()}
    per = "day" if figures.step.days == 1 else "week"
    title = f"{_team(name)}: MTTA and MTTR per {per}"
    svg = render_line_chart_svg(title, f"team-{index}", labels, series, tips)
    rows = [(when, str(d.count), *_ms(d)) for when, d in zip(long, slots, strict=True) if d.count]
    return render_figure_html(svg, title, (per.capitalize(), "Incidents", "MTTA", "MTTR"), rows)


def render_severity_figure_html(figures: Trend) -> str:
    labels, values = list(figures.by_severity), list(figures.by_severity.values())
    title = "Incidents by severity"
    svg = render_bar_chart_svg(title, "severity", labels, values, SEVERITY_COLOURS)
    return render_figure_html(svg, title, ("Severity", "Incidents"), [(k, str(v)) for k, v in zip(labels, values,
                                                                                                  strict=True)])


def _team(name: str) -> str:
    return "no team" if name == "none" else name


def render_summary_html(figures: Trend) -> str:
    """The window's totals per team, as a table."""
    rows = [(_team(name), str(d.count), *_ms(d)) for name, d in figures.team_totals.items()]
    if len(rows) > 1:
        rows.append(("all", str(figures.overall.count), *_ms(figures.overall)))
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Team", "Incidents", "MTTA", "MTTR"))
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="list summary"><tr>{head}</tr>{body}</table>'


def _form(teams: list[str], days: int, team: str | None) -> str:
    windows = "".join(f'<option value="{d}"{" selected" if d == days else ""}>last {d} days</option>' for d in WINDOWS)
    names = "".join(f'<option value="{escape(t)}"{" selected" if team and t.lower() == team.lower() else ""}>'
                    f'{escape(t)}</option>' for t in teams)
    return (f'<form method="get" action="/stats" class="filters"><label>Window <select name="days">{windows}'
            f'</select></label><label>Team <select name="team"><option value="">All teams</option>{names}</select>'
            '</label><button type="submit">Show</button></form>')


def render_stats_html(visitor: Visitor, figures: Trend | None, teams: list[str], days: int, team: str | None,
                      problem: str | None = None) -> str:
    """The stats page: the form, then the totals and charts (or what was wrong, or that there is nothing)."""
    parts = [_form(teams, days, team)]
    if problem:
        parts.append(f'<p class="reply error" role="alert">{escape(problem)}</p>')
    elif figures is not None:
        last = figures.until - timedelta(days=1)
        parts.append(f'<p class="summary">Incidents opened {figures.since:%Y-%m-%d} to {last:%Y-%m-%d} (UTC), '
                     "MTTA from opened to acknowledged, MTTR from opened to resolved (cancelled ones left out).</p>")
        if not figures.overall.count:
            parts.append('<p class="empty">No incidents in this window.</p>')
        else:
            parts.append(render_summary_html(figures))
            parts += [render_team_figure_html(figures, name, i) for i, name in enumerate(figures.by_team)]
            parts.append(render_severity_figure_html(figures))
    body = (f'{render.render_header_html(visitor.actor.display_name, visitor.csrf, "/stats")}'
            f'<main class="wide"><h2>Stats</h2>{"".join(parts)}</main>')
    return render.PAGE.format(title="Tocsin: stats", body=body)
