"""Pure renderers: incident views and replies -> the console's HTML (escaped; no database, no request).

A card is one ``<article id="incident-N">``, its title a link to the incident's page; its actions are
POST forms carrying the session's CSRF token, to ``/incidents/N/<path>`` (``ACTIONS``).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.chat import buttons
from bot.chat.facts import on_call, silence_line
from bot.commands.reply import Reply
from storage.states import Severity, Status
from storage.views import IncidentView, version

MAX_ALERTS = 5
#: The card's actions beyond the shared buttons (``bot.chat.buttons.CONSOLE``): form paths, not on any chat wire.
SNOOZE, ASSIGN, SEVERITY = "snooze", "assign", "severity"
ACTIONS = (*buttons.CONSOLE, SNOOZE, ASSIGN, SEVERITY)
LABELS = {buttons.wire_id(buttons.CONSOLE, verb): label for verb, label in buttons.LABELS.items()
          if verb in buttons.CONSOLE.values()} | {SNOOZE: "Snooze 1h", ASSIGN: "Assign to me", SEVERITY: "Set severity"}


def _when(at: datetime) -> str:
    return f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M UTC")}</time>'


def age(since: datetime, now: datetime) -> str:
    """How long ago, roughly: "3 min", "2 h 5 min", "4 d"."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d"


def card_verbs(view: IncidentView, now: datetime | None = None) -> tuple[str, ...]:
    """The actions that fit the status, as the chat cards offer them (none once closed); Expire silence
    while a silence Tocsin created for the incident runs at ``now``."""
    if view.status.is_final:
        return ()
    expire = (buttons.UNSILENCE,) if view.active_silence(now) else ()
    if view.status is Status.ACKNOWLEDGED:
        return (buttons.RESOLVE, SNOOZE, ASSIGN, SEVERITY, *expire)
    return (buttons.ACK, buttons.RESOLVE, buttons.ESCALATE, SNOOZE, ASSIGN, SEVERITY, *expire)


def silenceable(view: IncidentView) -> bool:
    """Born from alerts and still open: its page offers to silence them at the source."""
    return view.is_open and view.source == "webhook" and bool(view.alerts)


def _path(verb: str) -> str:
    return verb if verb in (SNOOZE, ASSIGN, SEVERITY) else buttons.wire_id(buttons.CONSOLE, verb)


def _fields(view: IncidentView) -> str:
    pairs = [("Severity", view.severity.value),
             ("Status", view.status.value + (f" (level {view.escalation_level})" if view.escalation_level else "")),
             ("Service", view.service or "-"), ("Team", view.team.name if view.team else "-")]
    if view.alerts_firing or view.alerts_resolved or view.truncated_alerts:
        pairs.append(("Alerts", f"{view.alerts_firing} firing, {view.alerts_resolved} resolved"))
    if view.assignee:
        pairs.append(("Assignee", view.assignee.name))
    if (who := on_call(view)) is not None:
        pairs.append(("On call", who))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in pairs) + "</dl>"


def _description(view: IncidentView) -> str:
    return f'<p class="description">{escape(view.description[:500])}</p>' if view.description else ""


def _alerts(view: IncidentView) -> str:
    shown = view.alerts[:MAX_ALERTS]
    items = [f"<li>{escape(a.name)} ({escape(a.status)})" + (f": {escape(a.summary[:200])}" if a.summary else "")
             + "</li>" for a in shown]
    hidden = view.alerts_firing + view.alerts_resolved + view.truncated_alerts - len(shown)
    if hidden > 0:
        items.append(f'<li class="more">+{hidden} more</li>')
    return f'<ul class="alerts">{"".join(items)}</ul>' if items else ""


def _who(view: IncidentView, now: datetime) -> str:
    by = view.created_by.name if view.created_by else view.source
    lines = [f"Declared by {escape(by)}, open for {age(view.created_at, now)}"]
    if view.acknowledged_by and view.acknowledged_at:
        lines.append(f"Acknowledged by {escape(view.acknowledged_by.name)} at {_when(view.acknowledged_at)}")
    if view.status.is_final and view.resolved_at:
        who = view.resolved_by.name if view.resolved_by else "the system"
        lines.append(f"{view.status.value.capitalize()} by {escape(who)} at {_when(view.resolved_at)}")
    if view.is_open and view.snoozed_until:
        lines.append(f"Snoozed until {_when(view.snoozed_until)}")
    silenced = silence_line(view, _when, escape, now)
    if silenced:
        lines.append(silenced)
    return "".join(f'<p class="who">{line}</p>' for line in lines)


def _links(view: IncidentView) -> str:
    links = [f'<a href="{escape(link.url)}" rel="noopener noreferrer">{escape(link.label)}</a>' for link in view.links
             if link.url.startswith(("http://", "https://"))]
    return f'<p class="links">{" | ".join(links)}</p>' if links else ""


def _severity_select(view: IncidentView) -> str:
    options = "".join(f'<option value="{s.value}"{" selected" if s is view.severity else ""}>{s.value}</option>'
                      for s in Severity)
    return f'<select name="severity" aria-label="Severity">{options}</select>'


def _action(view: IncidentView, verb: str, hidden: str) -> str:
    path = _path(verb)
    extra = _severity_select(view) if verb == SEVERITY else ""
    return (f'<form method="post" action="/incidents/{view.number}/{path}">{hidden}{extra}'
            f'<button type="submit" class="{path}">{LABELS[path]}</button></form>')


def _actions(view: IncidentView, csrf: str, back: str | None, now: datetime) -> str:
    hidden = f'<input type="hidden" name="csrf" value="{escape(csrf)}">' + (
        f'<input type="hidden" name="back" value="{escape(back)}">' if back else "")
    forms = [_action(view, verb, hidden) for verb in card_verbs(view, now)]
    return f'<div class="actions">{"".join(forms)}</div>' if forms else ""


def render_card_html(view: IncidentView, csrf: str, now: datetime, back: str | None = None) -> str:
    """The incident card: what it is, where it stands, who did what, where to look, what to press (a press
    leads back to the board, or to the incident's page when ``back`` is "page")."""
    state = "closed" if view.status.is_final else "open"
    return (f'<article class="card {state} sev-{view.severity.value}" id="incident-{view.number}" '
            f'data-version="{version(view)}"><h2><a href="/incidents/{view.number}">{view.ref} '
            f'{escape(view.title)}</a></h2>{_fields(view)}'
            f'{_description(view)}{_alerts(view)}{_who(view, now)}{_links(view)}{_actions(view, csrf, back, now)}</article>')


def render_reply_html(reply: Reply) -> str:
    """A command's answer above the board (a refusal reads as one)."""
    kind = "error" if reply.error else "ok"
    return f'<p class="reply {kind}" role="status">{escape(reply.text)}</p>'


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/console/console.css"></head>
<body>{body}</body></html>"""


#: The pages every signed-in page links to, in the header: (path, label).
NAV = (("/", "Board"), ("/incidents", "Incidents"), ("/stats", "Stats"), ("/notifications", "Notifications"))


def render_header_html(name: str, csrf: str, here: str = "") -> str:
    """The signed-in pages' header: who is signed in, the links to the other pages, Sign out."""
    current = ' aria-current="page"'
    links = "".join(f'<a href="{path}"{current if path == here else ""}>{label}</a>' for path, label in NAV)
    return (f'<header><h1><a href="/">Tocsin</a></h1><nav aria-label="Console">{links}</nav>'
            f'<span>Signed in as {escape(name)}</span>'
            f'<form method="post" action="/signout"><input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<button type="submit">Sign out</button></form></header>')


def render_demo_offer_html(csrf: str) -> str:
    """What an admin's empty board offers on a new organisation (``bot.console.demo``)."""
    return ('<form method="post" action="/demo" class="demo"><input type="hidden" name="csrf" '
            f'value="{escape(csrf)}"><p>New here? Load a demo organisation (a team with a lead and a manager, a '
            'policy whose steps are seconds apart) and send it a test alert, then watch its card here and its '
            'pages under Notifications.</p><button type="submit">Load the demo</button></form>')


def render_board_html(name: str, views: list[IncidentView], csrf: str, now: datetime, reply: Reply | None = None,
                      demo: bool = False) -> str:
    """The board: who is signed in, the reply to what they did, every open incident they may read (and, on an
    empty new organisation, the demo's offer: ``demo``)."""
    cards = "".join(render_card_html(v, csrf, now) for v in views)
    empty = "" if views else '<p class="empty">No open incidents.</p>' + (render_demo_offer_html(csrf) if demo else "")
    body = (f'{render_header_html(name, csrf, "/")}'
            f'{render_reply_html(reply) if reply else ""}<main id="board" data-events="/events">{empty}{cards}</main>'
            '<script src="/console/board.js"></script>')
    return PAGE.format(title="Tocsin: open incidents", body=body)


def render_sign_in_html(problem: str | None = None) -> str:
    """The page a browser without a session sees: how to get a sign-in link."""
    said = f'<p class="reply error">{escape(problem)}</p>' if problem else ""
    body = (f"<main><h1>Tocsin</h1>{said}<p>Sign in with a one-time link. On the Tocsin host, run</p>"
            "<pre>tocsin login-link EMAIL</pre><p>with your email as the config file names you, and open the link "
            "it prints within 15 minutes.</p></main>")
    return PAGE.format(title="Tocsin: sign in", body=body)


def render_login_html(token: str, nonce: str) -> str:
    """The page a sign-in link opens: one button, which uses the link."""
    body = ('<main><h1>Tocsin</h1><form method="post" action="/login">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
            '<button type="submit">Sign in to the Tocsin console</button></form></main>')
    return PAGE.format(title="Tocsin: sign in", body=body)
