"""The incident page ``/incidents/N``, the card's actions, and the page's command box.

The page shows the card, the timeline, every alert, the escalation ledger (as ``GET
/api/incidents/N/escalations`` has it) and the notes, and takes the chat's ``/incident`` grammar in a box.
Every action and command runs through the shared executor as the signed-in person; an incident they may
not read is not found.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from bot.chat import buttons
from bot.commands.execute import execute, run_text
from bot.commands.grammar import Command, after_command, parse_severity
from bot.commands.reply import Reply
from bot.console import flash, render, routes
from bot.console.signin import Visitor
from bot.container import Container
from bot.platforms import DEFAULT_POLICY
from escalation import queries as paging_queries
from storage.actors import Actor
from storage.errors import NotFound, PermissionDenied
from storage.views import AlertView, IncidentView, TimelineEntry

#: A card's form sends ``back=page`` when it is drawn on the incident's page: answer with that page.
PAGE = "page"
ALERTS_SHOWN = 100
#: What ``@me`` (or ``me``) means in the command box: the signed-in person.
ME = ("me", "@me")
#: What the page shows of an incident: its view, timeline, alerts, ledger, and the time it was read.
Story = tuple[IncidentView, list[TimelineEntry], list[AlertView], dict[str, Any], datetime]


def _me(actor: Actor):
    async def resolve(mention: str) -> Actor | None:
        return actor if mention.strip().lower() in ME else None
    return resolve


async def _act(container: Container, visitor: Visitor, number: int, path: str, severity: str) -> Reply:
    """The card's action at ``path`` on incident ``number``, as the person."""
    if path in buttons.CONSOLE:
        return await buttons.press(container, visitor.actor, buttons.CONSOLE[path], number)
    if path == render.SNOOZE:
        return await buttons.press(container, visitor.actor, buttons.SNOOZE, number)
    if path == render.ASSIGN:
        return await execute(container, visitor.actor, Command("assign", number=number, target="me"),
                             _me(visitor.actor))
    try:
        level = parse_severity(severity)
    except ValueError:
        return Reply.fail(f"Unknown severity {severity!r}; use critical, high, medium or low.")
    return await execute(container, visitor.actor, Command("severity", number=number, severity=level))


async def _signed_in(request: Request) -> Visitor | Response:
    """The visitor of a POST with a good CSRF token on an incident they may read, or the response that
    refuses it (nothing runs on an incident whose page would not be found)."""
    visitor = await routes.poster_of(request)
    if isinstance(visitor, Response):
        return visitor
    number = request.path_params["number"]
    try:
        await routes.container_of(request).queries.get(number, visitor.readable)
    except (NotFound, PermissionDenied):
        return _missing(visitor, number)
    return visitor


async def handle_action(request: Request) -> Response:
    """A card's action (board or page): through the shared executor as the person; the page it was pressed
    on shows the answer."""
    visitor = await _signed_in(request)
    if isinstance(visitor, Response):
        return visitor
    path, number = request.path_params["action"], request.path_params["number"]
    if path not in render.ACTIONS:
        return PlainTextResponse("No such action.", 404)
    container = routes.container_of(request)
    reply = await _act(container, visitor, number, path, await routes.form_field(request, "severity"))
    await container.bus.drain()  # the cards this changed are pushed before the answer
    target = _path(number) if await routes.form_field(request, "back") == PAGE else "/"
    return routes.answered(request, visitor, target, reply)


async def handle_command(request: Request) -> Response:
    """The page's command box: the text after ``/incident``, run as the person; the page shows the answer."""
    visitor = await _signed_in(request)
    if isinstance(visitor, Response):
        return visitor
    container = routes.container_of(request)
    text = await routes.form_field(request, "text")
    reply = await run_text(container, visitor.actor, after_command(text), _me(visitor.actor))
    await container.bus.drain()
    return routes.answered(request, visitor, _path(request.path_params["number"]), reply)


#: The longest comment a silence's form takes (Alertmanager keeps it with the silence).
MAX_COMMENT = 500
#: The silence form's answer to "create it" (without it the form asks for the preview).
CONFIRM = "yes"


async def handle_silence(request: Request) -> Response:
    """The page's Silence form: without ``confirm`` a page with the preview (which firing alerts the
    silence would select, from Alertmanager) and a Confirm form carrying the same choice; with it, the
    silence is created and the incident's page shows the answer. Role-gated by the core, as the command."""
    visitor = await _signed_in(request)
    if isinstance(visitor, Response):
        return visitor
    container, number = routes.container_of(request), request.path_params["number"]
    choice = await routes.form_field(request, "duration")
    comment = " ".join((await routes.form_field(request, "comment")).split())
    duration = buttons.SILENCE_CHOICES.get(choice)
    if duration is None:
        reply = Reply.fail(f"Choose how long to silence #{number} for: one of "
                           f"{', '.join(buttons.SILENCE_CHOICES)} (another length: silence {number} 90m in the "
                           "command box).")
    elif len(comment) > MAX_COMMENT:
        reply = Reply.fail(f"The comment is {len(comment)} characters long; keep it under {MAX_COMMENT}.")
    elif await routes.form_field(request, "confirm") == CONFIRM:
        reply = await buttons.press(container, visitor.actor, buttons.SILENCE, number, duration, text=comment or None)
        await container.bus.drain()  # the cards this changed are pushed before the answer
    else:
        reply = await buttons.press(container, visitor.actor, buttons.SILENCE_PREVIEW, number, duration,
                                    text=comment or None)
        if not reply.error:
            page = render_silence_preview_html(visitor, number, choice, comment, reply)
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})
    return routes.answered(request, visitor, _path(number), reply)


async def handle_page(request: Request) -> Response:
    """The incident's page, with the answer to the press that led here (once)."""
    read = await _read(request)
    if isinstance(read, Response):
        return read
    visitor, story = read
    page = render_incident_html(visitor, *story, reply=flash.take(request, visitor.csrf))
    return flash.spent(request, HTMLResponse(page, headers={"Cache-Control": "no-store"}))


async def handle_live(request: Request) -> Response:
    """The parts of the page that change (card, timeline, alerts, ledger, notes): what its script swaps in
    when the page's event stream says the incident changed."""
    read = await _read(request)
    if isinstance(read, Response):
        return read
    visitor, story = read
    return HTMLResponse(render_live_html(visitor, *story), headers={"Cache-Control": "no-store"})


async def _read(request: Request) -> tuple[Visitor, Story] | Response:
    """Who reads the page and what it shows of the incident, or the answer for no session, or for an
    incident the person may not read."""
    visitor = await routes.visitor_of(request)
    if visitor is None:
        return routes.to_sign_in()
    container, number = routes.container_of(request), request.path_params["number"]
    try:
        view = await container.queries.get(number, visitor.readable)
    except (NotFound, PermissionDenied):
        return _missing(visitor, number)
    timeline = await container.queries.timeline(number)
    alerts = await container.queries.alerts(number, limit=ALERTS_SHOWN)
    ledger = await paging_queries.escalations(container.db, number, DEFAULT_POLICY)
    return visitor, (view, timeline, alerts, ledger, container.clock.now())


def _path(number: int) -> str:
    return f"/incidents/{number}"


def _missing(visitor: Visitor, number: int) -> Response:
    """One answer for a missing incident and one the person may not read: a number reveals nothing."""
    return HTMLResponse(render_missing_html(visitor, number), 404, headers={"Cache-Control": "no-store"})


def _header(visitor: Visitor) -> str:
    return render.render_header_html(visitor.actor.display_name, visitor.csrf)


def _when(at: Any) -> str:
    if at is None:
        return "-"
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M:%S UTC")}</time>'


def _table(caption: str, head: tuple[str, ...], rows: list[tuple[str, ...]], empty: str) -> str:
    """A section's table; cells are HTML already escaped."""
    section = f'<section id="{caption.lower()}"><h2>{caption}</h2>'
    if not rows:
        return f'{section}<p class="empty">{empty}</p></section>'
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'{section}<table class="{caption.lower()}"><tr>{th}</tr>{body}</table></section>'


def _who(entry: TimelineEntry) -> str:
    return escape(entry.actor_name or entry.actor_source)


def render_timeline_html(entries: list[TimelineEntry]) -> str:
    rows = [(_when(e.at), _who(e), escape(e.kind), escape(e.text or "")) for e in entries]
    return _table("Timeline", ("When", "Who", "What", "Detail"), rows, "Nothing happened yet.")


def render_notes_html(entries: list[TimelineEntry]) -> str:
    rows = [(_when(e.at), _who(e), escape(e.text or "")) for e in entries if e.kind == "note"]
    return _table("Notes", ("When", "Who", "Note"), rows, "No notes yet: add one with note N text.")


def render_alerts_html(alerts: list[AlertView]) -> str:
    rows = [(escape(a.name), escape(a.status), escape(a.summary[:300]), _when(a.starts_at), _when(a.ends_at),
             str(a.occurrence_count), escape(_labels(a)))
            for a in sorted(alerts, key=lambda a: (a.status != "firing", a.starts_at))]
    return _table("Alerts", ("Alert", "Status", "Summary", "Started", "Ended", "Seen", "Labels"), rows, "No alerts.")


def _labels(alert: AlertView) -> str:
    """What tells an alert from its siblings of the same name (the instance, mostly)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")[:300]


def _paged(step: dict[str, Any]) -> str:
    sent = [f'{escape(n["target"] or "-")} on {escape(n["channel"] or "-")} ({escape(n["address"] or "-")}): '
            f'{escape(str(n["status"]).lower())}' + (f' ({escape(n["last_error"])})' if n["last_error"] else "")
            for n in step["notifications"]]
    return "<br>".join(sent) or "-"


def render_ledger_html(ledger: dict[str, Any]) -> str:
    """The escalation ledger: every step run and planned, whom it names, who was paged where, the outcome."""
    rows = [(f'{s["level"]}' + (f' (repeat {s["repeat"]})' if s["repeat"] else ""), escape(s["status"].lower()),
             _when(s["due_at"]), _when(s["executed_at"]), escape(", ".join(s["targets"]) or "-"),
             escape(", ".join(s["channels"]) or "-"), _paged(s), escape(s["note"] or ""))
            for s in ledger["steps"]]
    policy = f'<p>Policy: {escape(ledger["policy"] or "none")}, level {ledger["level"]}</p>'
    table = _table("Escalation", ("Level", "Status", "Due", "Run", "Names", "Channels", "Paged", "Note"), rows,
                   "No escalation steps.")
    return table.replace("</h2>", "</h2>" + policy, 1)


def render_command_box_html(number: int, csrf: str) -> str:
    return (f'<section><h2>Command</h2><form method="post" action="/incidents/{number}/command" class="command">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<label>/incident <input type="text" name="text" size="50" placeholder="note {number} checked the '
            f'replica" autocomplete="off"></label><button type="submit">Run</button></form>'
            '<p class="hint">The same commands as in chat (help lists them); @me is you.</p></section>')


def render_silence_form_html(view: IncidentView, csrf: str) -> str:
    """Silence the incident's alerts at the source: a duration and a comment; the press shows a preview."""
    if not render.silenceable(view):
        return ""
    options = "".join(f'<option value="{c}"{" selected" if c == "4h" else ""}>{c}</option>'
                      for c in buttons.SILENCE_CHOICES)
    return (f'<section id="silence"><h2>Silence</h2><form method="post" action="/incidents/{view.number}/silence" '
            f'class="silence"><input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<label>For <select name="duration">{options}</select></label> '
            f'<label>Comment <input type="text" name="comment" size="40" maxlength="{MAX_COMMENT}" '
            f'placeholder="deploy in progress" autocomplete="off"></label>'
            '<button type="submit">Preview silence</button></form>'
            '<p class="hint">Silences these alerts in the Alertmanager that sent them, matching their common labels; '
            'you see which alerts firing now match before anything is created.</p></section>')


def render_silence_preview_html(visitor: Visitor, number: int, choice: str, comment: str, reply: Reply) -> str:
    """The preview of a silence, and the form that confirms exactly that choice (or back to the page)."""
    hidden = "".join(f'<input type="hidden" name="{name}" value="{escape(value)}">' for name, value in
                     (("csrf", visitor.csrf), ("duration", choice), ("comment", comment), ("confirm", CONFIRM)))
    body = (f'{_header(visitor)}<main class="incident" style="display: block"><section id="silence-preview">'
            f'<h2>Silence #{number} for {escape(choice)}?</h2>{_said(reply)}'
            f'<form method="post" action="/incidents/{number}/silence" class="silence">{hidden}'
            f'<button type="submit">Confirm silence {escape(choice)}</button></form> '
            f'<a href="{_path(number)}" class="cancel">Cancel</a></section></main>')
    return render.PAGE.format(title=f"Tocsin: silence #{number}?", body=body)


def _said(reply: Reply | None) -> str:
    """A command's answer, its lines kept (``show``, ``timeline`` and ``help`` answer in several)."""
    if reply is None:
        return ""
    kind = "error" if reply.error else "ok"
    return f'<pre class="reply {kind}" role="status">{escape(reply.text)}</pre>'


def render_live_html(visitor: Visitor, view: IncidentView, timeline: list[TimelineEntry], alerts: list[AlertView],
                     ledger: dict[str, Any], now: datetime) -> str:
    """What changes on the page, each part under its own id (the command box stays: it may hold typing)."""
    return render.render_card_html(view, visitor.csrf, now, PAGE) + _story_html(timeline, alerts, ledger)


def _story_html(timeline: list[TimelineEntry], alerts: list[AlertView], ledger: dict[str, Any]) -> str:
    return (f'{render_timeline_html(timeline)}{render_alerts_html(alerts)}{render_ledger_html(ledger)}'
            f'{render_notes_html(timeline)}')


def render_incident_html(visitor: Visitor, view: IncidentView, timeline: list[TimelineEntry], alerts: list[AlertView],
                         ledger: dict[str, Any], now: datetime, reply: Reply | None = None) -> str:
    """The incident's page: its card with its actions, the reply, commands, timeline, alerts, ledger, notes;
    its script keeps them live."""
    path = _path(view.number)
    # one column: the board's grid (the shared style sheet's <main>) is for cards side by side
    body = (f'{_header(visitor)}{_said(reply)}<main class="incident" style="display: block" '
            f'data-events="{path}/events" data-live="{path}/live">{render.render_card_html(view, visitor.csrf, now, PAGE)}'
            f'{render_command_box_html(view.number, visitor.csrf)}{render_silence_form_html(view, visitor.csrf)}'
            f'{_story_html(timeline, alerts, ledger)}</main>'
            '<script src="/console/incident.js"></script>')
    return render.PAGE.format(title=f"Tocsin: {view.ref} {escape(view.title)}", body=body)


def render_missing_html(visitor: Visitor, number: int) -> str:
    body = f'{_header(visitor)}<main><p class="empty">There is no incident #{number} you may read.</p></main>'
    return render.PAGE.format(title="Tocsin: no such incident", body=body)
