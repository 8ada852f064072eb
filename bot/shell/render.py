"""Pure renderers: incident views, changes, pages and neutral replies -> plain terminal text.

A card ends with its numbered actions ("[1] ack 3  [2] resolve 3 ..."); typing the number runs the
action of the card printed last, typing the command itself runs it on any incident.
"""

from __future__ import annotations

from bot.chat.facts import card_facts, when
from bot.commands.reply import Reply
from storage.ports import Page
from storage.states import Status
from storage.views import IncidentChange, IncidentView, TimelineEntry

RULE = "\u2500" * 3
ACTIVE_ACTIONS = ("ack {n}", "resolve {n}", "escalate {n}", "snooze {n} 1h")
ACKNOWLEDGED_ACTIONS = ("resolve {n}", "snooze {n} 1h")
#: On a card born from alerts: the preview of a silence at the source, and its expiry while one runs.
SILENCE_ACTION, UNSILENCE_ACTION = "silence {n} 4h", "unsilence {n}"


_when = when


def card_actions(view: IncidentView) -> tuple[str, ...]:
    """The commands that make sense in the incident's state, in the order they are numbered (none once closed)."""
    if view.status in (Status.OPEN, Status.ESCALATING):
        actions = ACTIVE_ACTIONS
    elif view.status is Status.ACKNOWLEDGED:
        actions = ACKNOWLEDGED_ACTIONS
    else:
        actions = ()
    if actions and view.source == "webhook" and view.alerts:
        actions = (*actions, SILENCE_ACTION, *((UNSILENCE_ACTION,) if view.active_silence() else ()))
    return tuple(a.format(n=view.number) for a in actions)


def render_incident_line(view: IncidentView) -> str:
    """One line per incident, for lists."""
    team = f" \u00b7 {view.team.name}" if view.team else ""
    return f"{view.ref} {view.title} \u00b7 {view.severity.value} \u00b7 {view.status.value}{team}"


def _details(view: IncidentView) -> list[str]:
    return [*card_facts(view), *(f"{link.label}: {link.url}" for link in view.links)]


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
