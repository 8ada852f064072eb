"""Run a parsed ``/incident`` command against the core and answer with a neutral ``Reply``.

Every surface (Slack, Telegram, the shell) calls ``execute``; none of them decides policy itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot.commands.grammar import Command, UsageError, help_text, parse
from bot.commands.reply import Reply
from bot.container import Container
from escalation import queries as paging_queries
from escalation.texts import ago_seconds
from storage import directory, linking, stats
from storage.actors import Actor, Source
from storage.errors import TocsinError, UnknownActor
from storage.queries import IncidentFilter
from storage.views import ActionResult

#: Turns the "@user" of "assign 42 @user" into an actor on the same platform (None: not understood).
MentionResolver = Callable[[str], Awaitable[Actor | None]]
Handler = Callable[[Container, Actor, Command, MentionResolver | None], Awaitable[Reply]]
_HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            _HANDLERS[name] = fn
        return fn
    return register


async def run_text(container: Container, actor: Actor, text: str, mentions: MentionResolver | None = None) -> Reply:
    """Parse and execute the text after ``/incident``."""
    try:
        command = parse(text)
    except UsageError as exc:
        return Reply.fail(str(exc))
    return await execute(container, actor, command, mentions)


async def execute(container: Container, actor: Actor, command: Command,
                  mentions: MentionResolver | None = None) -> Reply:
    handler = _HANDLERS.get(command.name)
    if handler is None:
        return Reply.fail(f"'{command.name}' is not available in this version of Tocsin.")
    try:
        return await handler(container, actor, command, mentions)
    except UsageError as exc:
        return Reply.fail(str(exc))
    except UnknownActor as exc:
        return Reply(f"{exc}. Ask a Tocsin admin to add you to the config file, then try again.", error=True,
                     unlinked=True)
    except TocsinError as exc:
        return Reply.fail(_sentence(str(exc)))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _result(result: ActionResult) -> Reply:
    return Reply(_sentence(result.message), incident=result.incident, ephemeral=not result.changed)


@handles("help")
async def _help(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    return Reply(help_text())


@handles("declare")
async def _declare(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    if not command.text:
        return Reply("Give the incident a title: /incident declare <title> [sev:high]", open_modal=True)
    result = await container.incidents.declare(
        actor, command.text, severity=command.severity or "medium", service=command.service, team=command.team
    )
    return _result(result)


@handles("ack", "resolve", "cancel", "escalate")
async def _transition(container: Container, actor: Actor, command: Command,
                      mentions: MentionResolver | None) -> Reply:
    service, number = container.incidents, command.number
    if command.name == "ack":
        return _result(await service.acknowledge(number, actor))
    if command.name == "resolve":
        return _result(await service.resolve(number, actor, command.text))
    if command.name == "cancel":
        return _result(await service.cancel(number, actor, command.text))
    if command.scope == "preview":
        return await _HANDLERS["escalate-preview"](container, actor, command, mentions)
    return _result(await service.escalate(number, actor))


@handles("assign")
async def _assign(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    target = await mentions(command.target) if mentions else None
    if target is None and command.target and "@" in command.target.strip("@"):
        target = Actor(Source.API, command.target.strip())  # an email address
    if target is None:
        raise UsageError(f"I can't tell who {command.target!r} is; mention them (@name) or give their email.",
                         "assign")
    return _result(await container.incidents.assign(command.number, actor, target))


@handles("note")
async def _note(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    return _result(await container.incidents.add_note(command.number, actor, command.text or ""))


@handles("snooze")
async def _snooze(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    return _result(await container.incidents.snooze(command.number, actor, command.duration or timedelta(0)))


@handles("severity")
async def _severity(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    return _result(await container.incidents.change_severity(command.number, actor, command.severity))


@handles("show")
async def _show(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    view = await container.queries.get(command.number, await container.queries.readable(actor))
    return Reply(f"{view.ref} {view.title}", incident=view)


@handles("timeline")
async def _timeline(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    view = await container.queries.get(command.number, reader)
    entries = await container.queries.timeline(command.number, reader)
    ledger = await paging_queries.escalations(container.db, command.number)
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


@handles("list")
async def _list(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    if command.scope == "all":
        query = IncidentFilter(limit=20)
    elif command.scope == "mine":
        async with container.db.sessions() as session:
            person = await directory.find_person(session, actor)
        if person is None:
            raise UnknownActor(f"your {actor.source.value} account is not linked to a Tocsin person")
        query = IncidentFilter.open(assignee_id=person.id, limit=20)
    else:
        query = IncidentFilter.open(team=command.team, limit=20)
    views, total = await container.queries.list(query, reader)
    scope = f"team {command.team}" if command.scope == "team" else command.scope
    if not views:
        return Reply(f"No {scope} incidents.")
    more = f" (showing {len(views)} of {total})" if total > len(views) else ""
    return Reply(f"{total} {scope} incident{'s' if total != 1 else ''}{more}", incidents=tuple(views))


@handles("stats")
async def _stats(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    window = command.duration or timedelta(days=7)
    result = await stats.compute(container.db, container.clock.now(), window, command.team,
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


@handles("link")
async def _link(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    async with container.db.sessions() as session:
        person = await directory.find_person(session, actor)
    if person is None:
        raise UnknownActor(f"your {actor.source.value} account is not linked to a Tocsin person")
    code = await linking.issue_code(container.db, person.id, container.clock.now())
    return Reply(f"You are {person.name}. To link Telegram, send /start {code} to the Tocsin bot "
                 f"within {linking.CODE_TTL.seconds // 60} minutes.")


from bot.commands import paging_commands  # noqa: E402,F401 - registers policy, escalate preview, prefs
