"""Pure renderers: incident views and neutral replies -> Telegram HTML and inline keyboards."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.facts import card_facts, when
from bot.commands.reply import Reply
from bot.telegram.callback import (
    ACK,
    CANCEL_SILENCE,
    ESCALATE,
    RESOLVE,
    SILENCE_CONFIRMS,
    SILENCE_PREVIEWS,
    SNOOZE,
    UNSILENCE,
    CallbackCodec,
)
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


_when = when


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
        *card_facts(view, escape, lambda text: f"<b>{text}</b>"),
    ]
    for link in view.links:
        lines.append(f'<a href="{html.escape(link.url, quote=True)}">{escape(link.label)}</a>')
    return _clip("\n".join(lines))


def render_card_keyboard(view: IncidentView, codec: CallbackCodec, chat_id: int) -> InlineKeyboardMarkup | None:
    """The buttons that make sense in the incident's state (none once it is closed), signed for ``chat_id``."""
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=codec.encode(action, view.number, chat_id))

    if view.status in (Status.OPEN, Status.ESCALATING):
        rows = [[button("Acknowledge", ACK), button("Resolve", RESOLVE)],
                [button("Escalate", ESCALATE), button(SNOOZE_LABEL, SNOOZE)]]
    elif view.status is Status.ACKNOWLEDGED:
        rows = [[button("Resolve", RESOLVE), button(SNOOZE_LABEL, SNOOZE)]]
    else:
        return None
    if view.source == "webhook" and view.alerts:  # born from alerts: silence them at the source (a preview first)
        rows.append([button(f"Silence {choice}", action) for choice, action in SILENCE_PREVIEWS.items()])
        if view.active_silence():
            rows.append([button("Expire silence", UNSILENCE)])
    return InlineKeyboardMarkup(rows)


def render_silence_confirm_keyboard(number: int, choice: str, codec: CallbackCodec,
                                    chat_id: int) -> InlineKeyboardMarkup:
    """Under a silence's preview: create it for ``choice`` (1h, 4h, 24h), or not."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(f"Confirm silence {choice}",
                             callback_data=codec.encode(SILENCE_CONFIRMS[choice], number, chat_id)),
        InlineKeyboardButton("Cancel", callback_data=codec.encode(CANCEL_SILENCE, number, chat_id))]])


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
    if page.incident is None:  # an on-call handoff notice or reminder
        return _clip(escape(page.text))
    return _clip(f"{escape(page.text)}\n{render_incident_line(page.incident)}")
