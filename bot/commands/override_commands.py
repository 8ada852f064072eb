"""``/incident oncall override|overrides|cancel``: cover a schedule for a while, list and cancel overrides."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.commands.grammar import Command, UsageError
from bot.commands.handler import MentionResolver
from bot.commands.reply import Reply
from bot.container import Container
from storage import directory, overrides
from storage.actors import Actor, Source
from storage.errors import NotFound
from storage.models import Person


def shown_at(t: datetime, zone: ZoneInfo) -> str:
    return f"{t.astimezone(zone):%a %d %b %H:%M %Z}"


async def actor_for(raw: str, actor: Actor, mentions: MentionResolver | None) -> Actor:
    if raw.lower() in ("me", "@me"):
        return actor
    target = await mentions(raw) if mentions else None
    if target is None and "@" in raw.strip("@"):
        target = Actor(Source.API, raw.strip())  # an email address
    if target is None:
        raise UsageError(f"I can't tell who {raw!r} is; mention them (@name), give their email, or say me.", "oncall")
    return target


async def person_in_chat(session, raw: str, target: Actor) -> Person:
    person = await directory.find_person(session, target)
    if person is None:
        raise NotFound(f"{raw} is not an active Tocsin person (people are set in the config file)")
    return person


def instant(value: str, zone: ZoneInfo) -> datetime:
    """An ISO date or time; without an offset it is in ``zone`` (the schedule's)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{value!r} is not an ISO time; write it like 2026-12-04T09:00 (the schedule's zone) "
                         "or 2026-12-04T09:00+01:00.", "oncall") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


async def override(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    who_actor = await actor_for(command.target or "", actor, mentions)
    covered, *times = command.args
    for_actor = await actor_for(covered, actor, mentions) if covered else None
    now = container.clock.now()
    async with container.db.transaction() as session:
        schedule = await overrides.schedule_named(session, command.text or "")
        start, end = (now, now + command.duration) if command.duration else \
            (instant(times[0], schedule.zone), instant(times[1], schedule.zone))
        who = await person_in_chat(session, command.target or "", who_actor)
        for_whom = await person_in_chat(session, covered, for_actor) if for_actor else None
        made = await overrides.create(session, actor, schedule.name, who, for_whom, start, end, now)
    zone = made.schedule.zone
    instead = f" instead of {made.for_whom}" if made.for_whom else ""
    return Reply(f"Override {made.id}: {made.who} is on call for {made.schedule.name}{instead} from "
                 f"{shown_at(made.start, zone)} to {shown_at(made.end, zone)}. Undo: /incident oncall cancel {made.id}",
                 ephemeral=False)


async def listing(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    async with container.db.sessions() as session:
        found = await overrides.listing(session, reader, container.clock.now(), command.text)
    if not found:
        return Reply("No on-call overrides now or to come. Add one: /incident oncall override <schedule> @person 4h",
                     ephemeral=True)
    lines = ["On-call overrides (now and to come):"]
    for o in found:
        zone = o.schedule.zone
        instead = f" instead of {o.for_whom}" if o.for_whom else ""
        lines.append(f"  {o.id}. {o.schedule.name}: {o.who}{instead}, {shown_at(o.start, zone)} to {shown_at(o.end, zone)} "
                     f"(by {o.created_by})")
    return Reply("\n".join(lines), ephemeral=True)


async def cancel(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    async with container.db.transaction() as session:
        row = await overrides.cancel(session, actor, command.number or 0, container.clock.now())
    return Reply(f"Override {row.id} of {row.schedule} cancelled; the schedule's rotation applies again.",
                 ephemeral=False)
