"""Pure renderers: incident views, changes, pages and neutral replies -> plain terminal text.

A card ends with its numbered actions ("[1] ack 3  [2] resolve 3 ..."); typing the number runs the
action of the card printed last, typing the command itself runs it on any incident.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.reply import Reply
from storage.ports import Page
from storage.states import Status
from storage.views import IncidentChange, IncidentView, TimelineEntry

RULE = "\u2500" * 3
ACTIVE_ACTIONS = ("ack {n}", "resolve {n}", "escalate {n}", "snooze {n} 1h")
ACKNOWLEDGED_ACTIONS = ("resolve {n}", "snooze {n} 1h")


def _when(at: datetime | None) -> str:
    return at.strftime("%H:%M UTC %d %b") if at else ""


def card_actions(view: IncidentView) -> tuple[str, ...]:
    """The commands that make sense in the incident's state, in the order they are numbered (none once closed)."""
    if view.status in (Status.OPEN, Status.ESCALATING):
        actions = ACTIVE_ACTIONS
    elif view.status is Status.ACKNOWLEDGED:
        actions = ACKNOWLEDGED_ACTIONS
    else:
        actions = ()
    return tuple(a.format(n=view.number) for a in actions)


def render_incident_line(view: IncidentView) -> str:
    """One line per incident, for lists."""
    team = f" \u00b7 {view.team.name}" if view.team else ""
    return f"{view.ref} {view.title} \u00b7 {view.severity.value} \u00b7 {view.status.value}{team}"


def _details(view: IncidentView) -> list[str]:
    lines = [f"Status: {view.status.value} \u00b7 Severity: {view.severity.value}"]
    where = [f"Team: {view.team.name}" if view.team else "", f"Service: {view.service}" if view.service else ""]
    if any(where):
        lines.append(" \u00b7 ".join(w for w in where if w))
    if view.description:
        lines.append(view.description[:500])
    if view.assignee:
        lines.append(f"Assignee: {view.assignee.name}")
    if view.acknowledged_by:
        lines.append(f"Acknowledged by {view.acknowledged_by.name} at {_when(view.acknowledged_at)}")
    if view.resolved_by and view.status is Status.RESOLVED:
        lines.append(f"Resolved by {view.resolved_by.name} at {_when(view.resolved_at)}")
    elif view.status is Status.CANCELLED:
        lines.append(f"Cancelled at {_when(view.resolved_at)}")
    if view.snoozed_until and view.is_open:
        lines.append(f"Snoozed until {_when(view.snoozed_until)}")
    if view.alerts_firing or view.alerts_resolved:
        lines.append(f"Alerts: {view.alerts_firing} firing, {view.alerts_resolved} resolved")
    lines += [f"{link.label}: {link.url}" for link in view.links]
    return lines


def render_actions_line(view: IncidentView) -> str:
    """``[1] ack 3  [2] resolve 3 ...``, or nothing to do once the incident is closed."""
    actions = card_actions(view)
    return "  ".join(f"[{i}] {a}" for i, a in enumerate(actions, 1)) if actions else "(closed: no actions)"


def render_card_text(view: IncidentView, heading: str = "incident") -> str:
    """The incident card: a heading line, what happened and who did what, then the numbered actions."""
    lines = [f"{RULE} {heading} {view.ref}: {view.title} {RULE}", *_details(view), render_actions_line(view)]
    return "\n".join(lines[:1] + [f"  {line}" for line in lines[1:]])


def render_change_line(change: IncidentChange) -> str:
    """A timeline event the card does not show by itself (a note, a resolution's note)."""
    who = f" by {change.actor_name}" if change.actor_name else ""
    text = f": {change.text}" if change.text else ""
    return f"{change.incident.ref} {change.kind}{who}{text}"


def render_timeline_line(entry: TimelineEntry) -> str:
    who = f" by {entry.actor_name}" if entry.actor_name else ""
    text = f": {entry.text}" if entry.text else ""
    return f"{_when(entry.at)} {entry.kind}{who}{text}"


def render_reply_text(reply: Reply) -> str:
    """A command's answer: its text, then the list, timeline or escalation steps it carries."""
    parts = [reply.text]
    if reply.incidents:
        parts.append("\n".join(render_incident_line(v) for v in reply.incidents))
    if reply.timeline:
        parts.append("\n".join(render_timeline_line(e) for e in reply.timeline[-30:]))
    if reply.ledger:
        parts.append("\n".join(["Escalation steps:", *reply.ledger[:30]]))
    return "\n".join(parts)


def render_page_text(page: Page) -> str:
    """A page for the signed-in person: why, then the card with its actions."""
    return f"\a*** PAGE: {page.text}\n{render_card_text(page.incident, heading='paged about')}"


def render_notice_text(page: Page) -> str:
    """A follow-up to a page (e.g. "#42 was acknowledged by Alice")."""
    return f"*** {page.text}\n  {render_incident_line(page.incident)}"
