"""The facts of an incident card as lines of text, the same on every platform that renders text (Telegram's
HTML, the terminal): its state, where it belongs, who did what. Each platform adds its heading, its links
and its buttons, and says how its markup escapes text and marks it strong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage.states import Status
from storage.views import IncidentView, OnCall

Markup = Callable[[str], str]


def when(at: datetime | None) -> str:
    return at.strftime("%H:%M UTC %d %b") if at else ""


def silence_line(view: IncidentView, at: Callable[[datetime], str] = when, escape: Markup | None = None,
                 now: datetime | None = None) -> str | None:
    """The line "Silenced until 14:00 UTC 03 Dec by Ana (silence 1a2b3c4d…)" while Tocsin's silence of the incident's
    alerts runs (``IncidentView.active_silence``), every surface's card line; ``at`` formats the end in the
    surface's markup, ``escape`` the rest."""
    silence = view.active_silence(now)
    if silence is None:
        return None
    escape = escape or (lambda text: text)
    by = f" by {escape(silence.by)}" if silence.by else ""
    return f"Silenced until {at(silence.until)}{by} (silence {escape(silence.id[:8])}\u2026)"


def _plain(text: str) -> str:
    return text


def _until(entry: OnCall, built: datetime) -> str:
    """The handoff in the schedule's zone: "Mon 09:00" within the week, "12 Dec 09:00" beyond it."""
    if entry.until is None:
        return ""
    local = entry.until.astimezone(ZoneInfo(entry.timezone))
    return f", until {local:%a %H:%M}" if entry.until - built < timedelta(days=6) else f", until {local:%d %b %H:%M}"


def on_call(view: IncidentView) -> str | None:
    """Who the team's schedules have on call, "Ana (payments-primary, until Mon 09:00)", one per schedule
    joined by "; " (None: the team has no schedule). Without escaping: each platform escapes it."""
    if not view.on_call:
        return None
    return "; ".join(f"{e.who or 'nobody'} ({e.schedule}{_until(e, view.updated_at) if e.who else ''})"
                     for e in view.on_call)


def card_facts(view: IncidentView, escape: Markup = _plain, strong: Markup = _plain) -> list[str]:
    """Status and severity, team and service, description, assignee, who acknowledged or closed it and when,
    snooze, the alert counts and a silence at the source: one line each, those that apply."""
    lines = [f"Status: {strong(view.status.value)} \u00b7 Severity: {strong(view.severity.value)}"]
    where = [f"Team: {escape(view.team.name)}" if view.team else "",
             f"Service: {escape(view.service)}" if view.service else ""]
    if any(where):
        lines.append(" \u00b7 ".join(w for w in where if w))
    if (who := on_call(view)) is not None:
        lines.append(f"On call: {escape(who)}")
    if view.description:
        lines.append(escape(view.description[:500]))
    if view.assignee:
        lines.append(f"Assignee: {escape(view.assignee.name)}")
    if view.acknowledged_by:
        lines.append(f"Acknowledged by {escape(view.acknowledged_by.name)} at {when(view.acknowledged_at)}")
    if view.resolved_by and view.status is Status.RESOLVED:
        lines.append(f"Resolved by {escape(view.resolved_by.name)} at {when(view.resolved_at)}")
    elif view.status is Status.CANCELLED:
        lines.append(f"Cancelled at {when(view.resolved_at)}")
    if view.snoozed_until and view.is_open:
        lines.append(f"Snoozed until {when(view.snoozed_until)}")
    if view.alerts_firing or view.alerts_resolved:
        lines.append(f"Alerts: {view.alerts_firing} firing, {view.alerts_resolved} resolved")
    silenced = silence_line(view, escape=escape)
    if silenced:
        lines.append(silenced)
    return lines
