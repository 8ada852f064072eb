"""The console's own notification view, ``/notifications``: the pages and notices escalation sent on the
"console" channel (``bot.notify.inbox``: the outbox row is the console's inbox).

A person sees what was sent to them, and what was sent to the console channel of a team whose incidents
they may read; an admin sees every one, with whom it was for. Newest first; the page refreshes itself
every few seconds while open (no script needed), so a newcomer watches a policy page the team and then
the lead.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import aliased
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.console import render, routes
from bot.console.platform import NAME
from bot.console.signin import Visitor
from storage.models import Incident, Notification, Person, Team
from storage.queries import of_teams

SHOWN = 50
REFRESH = 5  # seconds


async def sent(container, visitor: Visitor, limit: int = SHOWN) -> list[tuple]:
    """The console notifications ``visitor`` may read, newest first: (sent at, number, title, team, to, reason,
    message); "to" is the person's name, or None for the team's channel."""
    n, to = Notification, aliased(Person)
    teams = visitor.readable.teams
    if teams is None:  # an admin: every one
        mine = true()
    else:
        me = select(Person.id).where(func.lower(Person.email) == visitor.actor.external_id.lower()).scalar_subquery()
        mine = or_(n.person_id == me, and_(n.person_id.is_(None), of_teams(teams)))
    query = (select(n.sent_at, Incident.number, Incident.title, Team.name, to.name, n.reason, n.message)
             .join(Incident, Incident.id == n.incident_id).outerjoin(Team, Team.id == Incident.team_id)
             .outerjoin(to, to.id == n.person_id)
             .where(n.channel == NAME, n.status == "SENT", mine).order_by(n.id.desc()).limit(limit))
    async with container.db.sessions() as session:
        return [tuple(row) for row in (await session.execute(query)).all()]


def _row(at: datetime | None, number: int, title: str, team: str | None, to: str | None, reason: str,
         message: str) -> str:
    when = f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M:%S")}</time>' if at else "-"
    whom = escape(to) if to else f"the {escape(team)} channel" if team else "the team channel"
    return (f"<tr><td>{when}</td><td>{whom}</td><td><a href=\"/incidents/{number}\">#{number}</a> {escape(title)}</td>"
            f"<td>{escape(reason)}</td><td>{escape(message)}</td></tr>")


def render_notifications_html(visitor: Visitor, rows: list[tuple]) -> str:
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Sent", "To", "Incident", "Why", "Message"))
    table = (f'<table class="list notifications"><tr>{head}</tr>{"".join(_row(*r) for r in rows)}</table>' if rows
             else '<p class="empty">Nothing was sent to you on the console yet. Escalation pages you here once '
                  'you have signed in (the policies\' <code>console</code> channel).</p>')
    body = (f'{render.render_header_html(visitor.actor.display_name, visitor.csrf, "/notifications")}'
            f'<main class="wide"><h2>Notifications</h2><p class="summary">The newest {SHOWN} pages and notices sent '
            f'on the console; this page refreshes every {REFRESH} seconds.</p>{table}</main>')
    page = render.PAGE.format(title="Tocsin: notifications", body=body)
    return page.replace("<head>", f'<head><meta http-equiv="refresh" content="{REFRESH}">', 1)


async def handle_notifications(request: Request) -> Response:
    visitor = await routes.visitor_of(request)
    if visitor is None:
        return routes.to_sign_in()
    rows = await sent(routes.container_of(request), visitor)
    return HTMLResponse(render_notifications_html(visitor, rows), headers={"Cache-Control": "no-store"})
