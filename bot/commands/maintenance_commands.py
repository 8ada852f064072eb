"""``/incident maintenance start|list|end``: maintenance windows from chat (docs/noise.md).

Who may open or end one is decided in storage/maintenance.py: team lead or above for a team's window,
an admin for a window without a team.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands.grammar import Command, UsageError
from bot.commands.handler import MentionResolver
from bot.commands.reply import Reply
from bot.container import Container
from storage import maintenance
from storage.actors import Actor


def _at(t: datetime) -> str:
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _instant(value: str) -> datetime:
    """An ISO time; without an offset it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{value!r} is not an ISO time; write it like 2026-12-04T09:00 (UTC) or "
                         "2026-12-04T09:00+01:00.", "maintenance") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


async def start(container: Container, actor: Actor, command: Command) -> Reply:
    now = container.clock.now()
    begin, end = (now, now + command.duration) if command.duration else \
        (_instant(command.args[0]), _instant(command.args[1]))
    async with container.db.transaction() as session:
        made = await maintenance.create(session, actor, command.team, command.service, dict(command.labels),
                                        begin, end, command.text, now)
    when = f"until {_at(made.end)}" if made.start <= now else f"from {_at(made.start)} to {_at(made.end)}"
    return Reply(f"Maintenance window {made.id} for {made.scope} {when}: matching alerts open quiet incidents "
                 f"and page nobody while it lasts. End it early: /incident maintenance end {made.id}",
                 ephemeral=False)


async def listing(container: Container, actor: Actor, command: Command) -> Reply:
    await container.queries.readable(actor)
    now = container.clock.now()
    async with container.db.sessions() as session:
        found = await maintenance.listing(session, now)
    if not found:
        return Reply("No maintenance windows now or to come. Open one: /incident maintenance start <team> 2h [reason]",
                     ephemeral=True)
    lines = ["Maintenance windows (now and to come):"]
    for w in found:
        state = "now" if w.start <= now else f"from {_at(w.start)}"
        reason = f": {w.reason}" if w.reason else ""
        lines.append(f"  {w.id}. {w.scope}, {state} until {_at(w.end)} (by {w.created_by}){reason}")
    return Reply("\n".join(lines), ephemeral=True)


async def end(container: Container, actor: Actor, command: Command) -> Reply:
    async with container.db.transaction() as session:
        ended = await maintenance.end(session, actor, command.number or 0, container.clock.now())
    return Reply(f"Maintenance window {ended.id} for {ended.scope} ended; incidents it held page within 30 seconds "
                 "if their alerts still fire.", ephemeral=False)


async def run(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    action = {"start": start, "list": listing, "end": end}[command.scope or "list"]
    return await action(container, actor, command)
