"""Pure renderers: incident views and neutral replies -> Slack Block Kit. No I/O, no database.

Slack mrkdwn treats ``&``, ``<`` and ``>`` as control characters (``<!channel>`` pings everyone), so
every piece of user text goes through ``escape``. People are named, never ``<@U..>``-mentioned.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.chat.facts import on_call, silence_line
from bot.commands.reply import Reply
from bot.slack import ids
from storage.states import Status
from storage.views import IncidentChange, IncidentView, TimelineEntry, version

Block = dict[str, Any]
SEVERITY_MARK = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                 "low": ":white_circle:"}
MAX_LIST = 15
MAX_ALERTS = 5


def escape(text: str | None) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def when(at: datetime) -> str:
    """A Slack date token: each reader sees their own time zone; the fallback is UTC."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def summary_text(view: IncidentView) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return f"{view.ref} [{view.severity.value}] {escape(view.title)} ({view.status.value})"


def _alerts(view: IncidentView) -> str:
    text = f"{view.alerts_firing} firing, {view.alerts_resolved} resolved"
    return text + (f" (+{view.truncated_alerts} more)" if view.truncated_alerts else "")


def _fields(view: IncidentView) -> list[Block]:
    pairs = [("Severity", f"{SEVERITY_MARK.get(view.severity.value, '')} {view.severity.value}".strip()),
             ("Status", view.status.value + (f" (level {view.escalation_level})" if view.escalation_level else "")),
             ("Service", escape(view.service) or "-"),
             ("Team", escape(view.team.name) if view.team else "-")]
    if view.alerts_firing or view.alerts_resolved or view.truncated_alerts:
        pairs.append(("Alerts", _alerts(view)))
    if view.assignee:
        pairs.append(("Assignee", escape(view.assignee.name)))
    if (who := on_call(view)) is not None:
        pairs.append(("On call", escape(who)))
    return [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in pairs]


def _alert_lines(view: IncidentView) -> str:
    shown = view.alerts[:MAX_ALERTS]
    lines = [f"• {escape(a.name)} ({a.status})" + (f": {escape(a.summary)[:200]}" if a.summary else "")
             for a in shown]
    hidden = view.alerts_firing + view.alerts_resolved + view.truncated_alerts - len(shown)
    return "\n".join(lines + ([f"+{hidden} more"] if hidden > 0 else []))


def _context(view: IncidentView) -> list[str]:
    by = view.created_by.name if view.created_by else view.source
    lines = [f"Declared by {escape(by)} {when(view.created_at)}"]
    if view.acknowledged_by and view.acknowledged_at:
        lines.append(f"Acknowledged by {escape(view.acknowledged_by.name)} {when(view.acknowledged_at)}")
    if view.status.is_final and view.resolved_at:
        who = view.resolved_by.name if view.resolved_by else "the system"
        lines.append(f"{view.status.value.capitalize()} by {escape(who)} {when(view.resolved_at)}")
    if view.is_open and view.snoozed_until:
        lines.append(f"Snoozed until {when(view.snoozed_until)}")
    silenced = silence_line(view, when, escape)
    if silenced:
        lines.append(silenced)
    return lines


def _button(text: str, action_id: str, number: int, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id,
                     "value": str(number)}
    if style:
        button["style"] = style
    return button


def _snooze_menu(number: int) -> Block:
    options = [{"text": {"type": "plain_text", "text": f"Snooze {c}"}, "value": f"{number}:{c}"}
               for c in ids.SNOOZE_CHOICES]
    return {"type": "static_select", "action_id": ids.SNOOZE, "options": options,
            "placeholder": {"type": "plain_text", "text": "Snooze"}}


def _silence_menu(number: int) -> Block:
    """Silence at the source (docs/silences.md); Slack asks the confirm dialog before sending the press."""
    options = [{"text": {"type": "plain_text", "text": f"Silence {c}"}, "value": f"{number}:{c}"}
               for c in ids.SILENCE_CHOICES]
    options.append({"text": {"type": "plain_text", "text": "Custom\u2026"}, "value": f"{number}:{ids.SILENCE_CUSTOM}"})
    confirm = {"title": {"type": "plain_text", "text": f"Silence #{number}?"},
               "text": {"type": "plain_text", "text": "Creates a silence in the Alertmanager that sent these alerts, "
                        "matching their common labels: they stop notifying until it ends or is expired. "
                        "Custom\u2026 asks for the duration in a form first. "
                        f"To see which alerts match first: /incident silence {number} 4h"},
               "confirm": {"type": "plain_text", "text": "Silence"}, "deny": {"type": "plain_text", "text": "Cancel"}}
    return {"type": "static_select", "action_id": ids.SILENCE, "options": options, "confirm": confirm,
            "placeholder": {"type": "plain_text", "text": "Silence"}}


def render_card_actions(view: IncidentView) -> list[Block]:
    """The buttons that make sense in the incident's current status (none once it is closed)."""
    if view.status.is_final:
        return []
    elements: list[Block] = []
    if view.status is not Status.ACKNOWLEDGED:
        elements.append(_button("Acknowledge", ids.ACKNOWLEDGE, view.number, "primary"))
    elements.append(_button("Resolve", ids.RESOLVE, view.number))
    if view.status is not Status.ACKNOWLEDGED:
        elements.append(_button("Escalate", ids.ESCALATE, view.number, "danger"))
    elements.append(_snooze_menu(view.number))
    if view.source == "webhook" and view.alerts:  # born from alerts: silence them at the source
        elements.append(_silence_menu(view.number))
        if view.active_silence():  # and expire it early while it runs
            elements.append(_button("Expire silence", ids.UNSILENCE, view.number))
    return [{"type": "actions", "block_id": f"{ids.ACTIONS_BLOCK}:{view.number}:{version(view)}",
             "elements": elements}]


def render_card_blocks(view: IncidentView, *, buttons: bool = True) -> list[Block]:
    """The incident card: what it is, where it stands, who did what, where to look, what to press."""
    header = f"{view.ref} {view.title}"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150]}},
        {"type": "section", "fields": _fields(view)},
    ]
    if view.description:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(view.description)[:2900]}})
    if view.alerts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _alert_lines(view)[:2900]}})
    if view.links:
        links = " | ".join(f"<{link.url}|{escape(link.label)}>" for link in view.links)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": links}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line} for line in _context(view)]})
    if buttons:
        blocks += render_card_actions(view)
    return blocks


def render_card(view: IncidentView) -> dict[str, Any]:
    """``text`` and ``blocks`` for chat.postMessage / chat.update."""
    return {"text": summary_text(view), "blocks": render_card_blocks(view)}


_VERBS = {"acknowledged": "Acknowledged", "resolved": "Resolved", "cancelled": "Cancelled",
          "escalated": "Escalated", "snoozed": "Snoozed", "severity_changed": "Severity changed",
          "assigned": "Assigned", "note": "Note"}


def render_timeline_line(kind: str, actor_name: str | None, actor_source: str, text: str | None) -> str:
    """One timeline event as a thread reply; the actor is named, never mentioned (no notification)."""
    verb = _VERBS.get(kind, kind.replace("_", " ").capitalize())
    who = escape(actor_name or actor_source)
    detail = f": {escape(text)}" if text else ""
    if kind == "note":
        return f"*{who}* ({actor_source}){detail}"
    return f"{verb} by *{who}* ({actor_source}){detail}"


def render_change_line(change: IncidentChange) -> str:
    return render_timeline_line(change.kind, change.actor_name, change.actor_source, change.text)


def _list_line(view: IncidentView) -> str:
    team = f" · {escape(view.team.name)}" if view.team else ""
    return f"*{view.ref}* {escape(view.title)} · {view.severity.value} · {view.status.value}{team}"


def _timeline_lines(entries: tuple[TimelineEntry, ...]) -> list[str]:
    return [f"{e.at.strftime('%m-%d %H:%M')} " + render_timeline_line(e.kind, e.actor_name, e.actor_source, e.text)
            for e in entries]


def render_reply(reply: Reply, *, quiet: bool = False) -> dict[str, Any]:
    """A neutral command reply as a response_url / chat message payload. ``quiet``: the change already
    shows in this channel's card and thread, so only the person who acted sees the confirmation."""
    text = escape(reply.text)
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]
    if reply.error:
        blocks[0]["text"]["text"] = f":warning: {text}"[:2900]
    if reply.incident and reply.ephemeral and not reply.error and not reply.timeline:
        blocks += render_card_blocks(reply.incident)  # "show": the live card is elsewhere, this is a look
    if reply.incidents:
        lines = [_list_line(v) for v in reply.incidents[:MAX_LIST]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}})
    if reply.timeline:
        lines = _timeline_lines(reply.timeline)
        for start in range(0, min(len(lines), 40), 20):  # a section holds at most 3000 characters
            chunk = "\n".join(lines[start:start + 20])[:2900]
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if reply.ledger:
        ledger = "\n".join(["*Escalation steps*", *(escape(line) for line in reply.ledger[:40])])[:2900]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": ledger}})
    kind = "ephemeral" if reply.ephemeral or reply.error or quiet else "in_channel"
    return {"text": text[:3000], "blocks": blocks, "response_type": kind}


def render_declare_modal(channel_id: str | None) -> dict[str, Any]:
    """The form that ``/incident declare`` with no title opens."""
    severities = [{"text": {"type": "plain_text", "text": s}, "value": s} for s in ("critical", "high", "medium", "low")]

    def text_input(block_id: str, label: str, optional: bool) -> Block:
        return {"type": "input", "block_id": block_id, "optional": optional,
                "label": {"type": "plain_text", "text": label},
                "element": {"type": "plain_text_input", "action_id": block_id}}

    return {
        "type": "modal", "callback_id": ids.DECLARE_MODAL, "private_metadata": channel_id or "",
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            text_input("title", "Title", False),
            {"type": "input", "block_id": "severity", "label": {"type": "plain_text", "text": "Severity"},
             "element": {"type": "static_select", "action_id": "severity", "options": severities,
                         "initial_option": severities[2]}},
            text_input("service", "Service", True),
            text_input("team", "Team", True),
        ],
    }


def render_silence_modal(number: int, channel_id: str | None) -> dict[str, Any]:
    """The form Custom… in a card's Silence menu opens: any duration the typed command accepts, a comment."""
    def text_input(block_id: str, label: str, optional: bool, placeholder: str) -> Block:
        return {"type": "input", "block_id": block_id, "optional": optional,
                "label": {"type": "plain_text", "text": label},
                "element": {"type": "plain_text_input", "action_id": block_id,
                            "placeholder": {"type": "plain_text", "text": placeholder}}}

    return {
        "type": "modal", "callback_id": ids.SILENCE_MODAL,
        "private_metadata": json.dumps({"number": number, "channel": channel_id}),
        "title": {"type": "plain_text", "text": f"Silence #{number}"[:24]},
        "submit": {"type": "plain_text", "text": "Silence"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "A silence in the Alertmanager that sent these "
             "alerts, matching their common labels: they stop notifying until it ends or is expired."}},
            text_input("duration", "For how long", False, "e.g. 90m, 2h or 3d (1 minute to 7 days)"),
            text_input("comment", "Comment", True, "why, for whoever reads the silence in Alertmanager"),
        ],
    }


def render_page(view: IncidentView, text: str, with_card: bool) -> dict[str, Any]:
    """An escalation page (usually a DM): the reason, then the live card with its buttons."""
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)[:2900]}}]
    if with_card:
        blocks += render_card_blocks(view)
    return {"text": escape(text)[:3000], "blocks": blocks}
