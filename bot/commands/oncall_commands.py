"""``/incident oncall [team]``: who is on call now, the next handoff, and the next 7 days, per schedule
(overrides applied); ``oncall override|overrides|cancel`` go to override_commands, ``oncall
offer|offers|take|cancel offer`` (swaps) to offer_commands."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.commands import offer_commands, override_commands
from bot.commands.grammar import Command
from bot.commands.handler import MentionResolver
from bot.commands.reply import Reply
from bot.container import Container
from storage import overrides, schedules
from storage.actors import Actor
from storage.oncall import Shift


def _at(t: datetime, zone: ZoneInfo) -> str:
    return f"{t.astimezone(zone):%a %d %b %H:%M %Z}"


def _shift(s: Shift, zone: ZoneInfo) -> str:
    return f"{_at(s.start, zone)} to {_at(s.end, zone)}: {s.who or 'nobody'}" + \
        (f" ({s.layer})" if s.layer == "override" else "")


async def show(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    now = container.clock.now()
    async with container.db.sessions() as session:
        found = await schedules.readable(session, reader, command.team)
        covering = await overrides.active(session, now, [s.name for s in found])
    if not found:
        where = f"team {command.team}" if command.team else "the teams you can read"
        return Reply(f"No on-call schedule for {where}. Schedules are set in the config file's schedules: "
                     "section (docs/oncall.md).")
    lines: list[str] = []
    for schedule in found:
        s, zone = schedules.summary(schedule, now, covering.get(schedule.name)), schedule.zone
        team = f" (team {schedule.team})" if schedule.team else ""
        lines.append(f"{schedule.name}{team}: {s.now.who or 'nobody'} is on call now, until {_at(s.now.end, zone)}")
        if s.next is not None:
            lines.append(f"  next: {s.next.who or 'nobody'} from {_at(s.next.start, zone)}")
        lines.append("  next 7 days:")
        lines += [f"    {_shift(x, zone)}" for x in s.week]
    return Reply("\n".join(lines))


async def run(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    """``/incident oncall ...``: who is on call, or an override or swap verb."""
    verbs = {"override": override_commands.override, "overrides": override_commands.listing,
             "cancel": override_commands.cancel, "offer": offer_commands.offer, "offers": offer_commands.listing,
             "take": offer_commands.take, "cancel-offer": offer_commands.cancel}
    return await verbs.get(command.scope or "", show)(container, actor, command, mentions)
