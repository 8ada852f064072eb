"""The ``/incident`` commands that read: show, timeline, list and stats."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.commands.grammar import Command
from bot.commands.handler import MentionResolver
from bot.commands.reply import Reply
from bot.container import Container
from bot.platforms import DEFAULT_POLICY
from escalation import queries as paging_queries
from escalation.texts import ago_seconds
from storage import directory
from storage import stats as incident_stats
from storage.actors import Actor
from storage.queries import IncidentFilter


async def show(container: Container, actor: Actor, command: Command,
               mentions: MentionResolver | None) -> Reply:
    view = await container.queries.get(command.number, await container.queries.readable(actor))
    return Reply(f"{view.ref} {view.title}", incident=view)


async def timeline(container: Container, actor: Actor, command: Command,
                   mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    view = await container.queries.get(command.number, reader)
    entries = await container.queries.timeline(command.number, reader)
    ledger = await paging_queries.escalations(container.db, command.number, DEFAULT_POLICY)
    today = container.clock.now().date()
    return Reply(f"Timeline of {view.ref} {view.title}", incident=view, timeline=tuple(entries),
                 ledger=tuple(_ledger_line(step, today) for step in ledger["steps"]))


def _ledger_line(step: dict[str, Any], today: date) -> str:
    """One escalation step, e.g. "step 2 (role:team_lead) due 03:15 UTC: executed 12s late, 1 notification
    (1 sent)", "... cancelled: incident acknowledged" or "... pending"."""
    due = datetime.fromisoformat(step["due_at"])
    when = f"{due:%H:%M} UTC" if due.date() == today else f"{due:%d %b %H:%M} UTC"
    head = f"step {step['level']}" + (f" of repeat {step['repeat']}" if step["repeat"] else "")
    head += f" ({', '.join(step['targets'])})" if step["targets"] else ""
    status, note = step["status"], step["note"]
    if status == "PENDING":
        outcome = "pending"
    elif status == "EXECUTED":
        late = step["late_by_seconds"]
        by = (step["executed_by"] or "").rpartition(" for ")[2] or "hand"
        outcome = (f"run early by {by}" if late is None else "executed on time" if late < 1
                   else f"executed {ago_seconds(late)} late")
    else:
        outcome = status.lower() + (f": {note}" if note else "")
    sent: dict[str, int] = {}
    for n in step["notifications"]:
        sent[n["status"].lower()] = sent.get(n["status"].lower(), 0) + 1
    if sent:
        total = sum(sent.values())
        outcome += f", {total} notification{'s' if total != 1 else ''} (" + \
            ", ".join(f"{count} {word}" for word, count in sorted(sent.items())) + ")"
    return f"{head} due {when}: {outcome}"


async def list_incidents(container: Container, actor: Actor, command: Command,
                         mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    if command.scope == "all":
        query = IncidentFilter(limit=20)
    elif command.scope == "mine":
        async with container.db.sessions() as session:
            person = await directory.find_person(session, actor)
        if person is None:
            raise directory.not_linked(actor)
        query = IncidentFilter.open(assignee_id=person.id, limit=20)
    else:
        query = IncidentFilter.open(team=command.team, limit=20)
    views, total = await container.queries.list(query, reader)
    scope = f"team {command.team}" if command.scope == "team" else command.scope
    if not views:
        return Reply(f"No {scope} incidents.")
    more = f" (showing {len(views)} of {total})" if total > len(views) else ""
    return Reply(f"{total} {scope} incident{'s' if total != 1 else ''}{more}", incidents=tuple(views))


async def stats(container: Container, actor: Actor, command: Command,
                mentions: MentionResolver | None) -> Reply:
    window = command.duration or timedelta(days=7)
    result = await incident_stats.compute(container.db, container.clock.now(), window, command.team,
                                 await container.queries.readable(actor))
    o = result.overall
    days = window.days or round(window.total_seconds() / 86400, 2)
    lines = [
        f"Last {days} days{' for ' + command.team if command.team else ''}: {o.count} incidents",
        f"MTTA {_duration(o.mtta_seconds)}, MTTR {_duration(o.mttr_seconds)}",
        "By status: " + (", ".join(f"{k} {v}" for k, v in sorted(result.by_status.items())) or "none"),
        "By severity: " + (", ".join(f"{k} {v}" for k, v in sorted(result.by_severity.items())) or "none"),
    ]
    return Reply("\n".join(lines))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    minutes = seconds / 60
    return f"{minutes:.0f}m" if minutes < 120 else f"{minutes / 60:.1f}h"
