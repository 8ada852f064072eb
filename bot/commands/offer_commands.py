"""``/incident oncall offer|offers|take|cancel offer``: swap shifts. A person offers a shift of theirs, another
takes it (an override, storage/offers.py has the rules)."""

from __future__ import annotations

from bot.commands.grammar import Command
from bot.commands.handler import MentionResolver
from bot.commands.override_commands import actor_for, instant, person_in_chat, shown_at
from bot.commands.reply import Reply
from bot.container import Container
from storage import directory, offers, overrides
from storage.actors import Actor
from storage.errors import InvalidInput


async def offer(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    whose_raw, *when = command.args
    whose_actor = await actor_for(whose_raw, actor, mentions) if whose_raw else actor
    now = container.clock.now()
    async with container.db.transaction() as session:
        schedule = await overrides.schedule_named(session, command.text or "")
        start, end = (None, None) if [w.lower() for w in when] == ["next"] else \
            (instant(when[0], schedule.zone), instant(when[1], schedule.zone))
        whose = await person_in_chat(session, whose_raw, whose_actor) if whose_raw else \
            (await directory.resolve(session, actor)).person
        if whose is None:
            raise InvalidInput("you are no Tocsin person, so have no shift; offer someone's: ... for @person")
        made = await offers.offer(session, actor, schedule.name, whose, start, end, now)
    zone = made.schedule.zone
    return Reply(f"Offer {made.id}: {made.who}'s shift of {made.schedule.name}, {shown_at(made.start, zone)} to "
                 f"{shown_at(made.end, zone)}, is up for grabs. Take it: /incident oncall take {made.id}", ephemeral=False)


async def listing(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    reader = await container.queries.readable(actor)
    async with container.db.sessions() as session:
        found = await offers.listing(session, reader, container.clock.now(), command.text)
    if not found:
        return Reply("No open shift offers. Offer yours: /incident oncall offer <schedule> next", ephemeral=True)
    lines = ["Shift offers (take one: /incident oncall take <number>):"]
    for o in found:
        zone = o.schedule.zone
        lines.append(f"  {o.id}. {o.schedule.name}: {o.who}, {shown_at(o.start, zone)} to {shown_at(o.end, zone)} "
                     f"(by {o.created_by})")
    return Reply("\n".join(lines), ephemeral=True)


async def take(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    async with container.db.transaction() as session:
        taken = await offers.take(session, actor, command.number or 0, None, container.clock.now())
    made, zone = taken.override, taken.override.schedule.zone
    return Reply(f"Offer {taken.offer.id} taken: {made.who} is on call for {made.schedule.name} instead of "
                 f"{made.for_whom} from {shown_at(made.start, zone)} to {shown_at(made.end, zone)} (override {made.id}; "
                 f"undo: /incident oncall cancel {made.id})", ephemeral=False)


async def cancel(container: Container, actor: Actor, command: Command, mentions: MentionResolver | None) -> Reply:
    async with container.db.transaction() as session:
        row = await offers.cancel(session, actor, command.number or 0, container.clock.now())
    return Reply(f"Offer {row.id} of {row.schedule} cancelled; nobody took it.", ephemeral=False)
