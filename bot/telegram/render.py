"""Pure renderers: incident views and neutral replies -> Telegram HTML and inline keyboards."""

from __future__ import annotations

import html
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.commands.reply import Reply
from bot.telegram.callback import ACK, ESCALATE, RESOLVE, SNOOZE, CallbackCodec
from storage.ports import Page
from storage.states import Status
from storage.views import IncidentView, TimelineEntry

MAX_TEXT = 4096  # Telegram's limit on a message's text
SNOOZE_LABEL = "Snooze 1h"
STATUS_ICON = {
    Status.OPEN: "\U0001f534",  # red circle
    Status.ESCALATING: "\U0001f6a8",  # rotating light
    Status.ACKNOWLEDGED: "\U0001f7e1",  # yellow circle
    Status.RESOLVED: "\u2705",  # check mark
    Status.CANCELLED: "\u26aa",  # white circle
}


def escape(text: str) -> str:
    """Text for Telegram HTML: only &, < and > need escaping outside attributes."""
    return html.escape(text, quote=False)


def _when(at: datetime | None) -> str:
    return at.strftime("%H:%M UTC %d %b") if at else ""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 2] + " \u2026"


def render_incident_line(view: IncidentView) -> str:
    """One line per incident, for lists."""
    return (f"{STATUS_ICON[view.status]} <b>{escape(view.ref)}</b> {escape(view.title)} "
            f"\u00b7 {view.severity.value} \u00b7 {view.status.value}")


def render_card_html(view: IncidentView) -> str:
    """The incident card: what happened, its state, and who did what."""
    lines = [
        f"{STATUS_ICON[view.status]} <b>Incident {escape(view.ref)}: {escape(view.title)}</b>",
        f"Status: <b>{view.status.value}</b> \u00b7 Severity: <b>{view.severity.value}</b>",
    ]
    where = [f"Team: {escape(view.team.name)}" if view.team else "", f"Service: {escape(view.service)}"
             if view.service else ""]
    if any(where):
        lines.append(" \u00b7 ".join(w for w in where if w))
    if view.description:
        lines.append(escape(view.description[:500]))
    if view.assignee:
        lines.append(f"Assignee: {escape(view.assignee.name)}")
    if view.acknowledged_by:
        lines.append(f"Acknowledged by {escape(view.acknowledged_by.name)} at {_when(view.acknowledged_at)}")
    if view.resolved_by and view.status is Status.RESOLVED:
        lines.append(f"Resolved by {escape(view.resolved_by.name)} at {_when(view.resolved_at)}")
    elif view.status is Status.CANCELLED:
        lines.append(f"Cancelled at {_when(view.resolved_at)}")
    if view.snoozed_until and view.is_open:
        lines.append(f"Snoozed until {_when(view.snoozed_until)}")
    if view.alerts_firing or view.alerts_resolved:
        lines.append(f"Alerts: {view.alerts_firing} firing, {view.alerts_resolved} resolved")
    for link in view.links:
        lines.append(f'<a href="{html.escape(link.url, quote=True)}">{escape(link.label)}</a>')
    return _clip("\n".join(lines))


def render_card_keyboard(view: IncidentView, codec: CallbackCodec, chat_id: int) -> InlineKeyboardMarkup | None:
    """The buttons that make sense in the incident's state (none once it is closed), signed for ``chat_id``."""
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=codec.encode(action, view.number, chat_id))

    if view.status in (Status.OPEN, Status.ESCALATING):
        return InlineKeyboardMarkup([
            [button("Acknowledge", ACK), button("Resolve", RESOLVE)],
            [button("Escalate", ESCALATE), button(SNOOZE_LABEL, SNOOZE)],
        ])
    if view.status is Status.ACKNOWLEDGED:
        return InlineKeyboardMarkup([[button("Resolve", RESOLVE), button(SNOOZE_LABEL, SNOOZE)]])
    return None


def render_timeline_line(entry: TimelineEntry) -> str:
    who = f" by {escape(entry.actor_name)}" if entry.actor_name else ""
    text = f": {escape(entry.text)}" if entry.text else ""
    return f"{_when(entry.at)} <b>{escape(entry.kind)}</b>{who}{text}"


def render_reply_html(reply: Reply) -> str:
    """A command's answer: its text, then the list or timeline it carries (live cards are posted apart)."""
    parts = [escape(reply.text)]
    if reply.incidents:
        parts.append("\n".join(render_incident_line(v) for v in reply.incidents))
    if reply.timeline:
        parts.append("\n".join(render_timeline_line(e) for e in reply.timeline[-30:]))
    if reply.ledger:
        parts.append("\n".join(["<b>Escalation steps</b>", *(escape(line) for line in reply.ledger[:30])]))
    return _clip("\n\n".join(parts))


def render_page_html(page: Page) -> str:
    """A direct message that pages someone: why, then the card."""
    return _clip(f"\U0001f514 <b>{escape(page.text)}</b>\n\n{render_card_html(page.incident)}")


def render_notice_html(page: Page) -> str:
    """A follow-up (e.g. "#42 was acknowledged by Alice"), usually a reply to the page it follows."""
    return _clip(f"{escape(page.text)}\n{render_incident_line(page.incident)}")
