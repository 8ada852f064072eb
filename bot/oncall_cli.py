"""``tocsin oncall show SCHEDULE --from --to``: the final timeline of a schedule in the config file, as a table;
``tocsin oncall override``, ``cancel`` and ``overrides`` (the list): overrides in the database, and ``offer``,
``offers``, ``take``, ``cancel-offer``: shift swaps, as the local operator."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config_file import TocsinConfig
from storage.oncall import timeline


def add_parser(sub: Any) -> None:
    actions = sub.add_parser("oncall", help="on-call schedules: a timeline, overrides, calendar feeds, fairness") \
        .add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="the final timeline (layers, restrictions, overrides) as a table")
    show.add_argument("schedule")
    show.add_argument("--from", dest="start", help="ISO date or time (default: now); a bare time is the schedule's zone")
    show.add_argument("--to", dest="end", help="ISO date or time (default: 7 days after --from)")
    show.add_argument("--config", type=Path, help="the config file with the schedule (TOCSIN_CONFIG)")
    override = actions.add_parser("override", help="put someone on call for a schedule (audited, as the CLI)")
    override.add_argument("schedule", help="an applied schedule's name")
    override.add_argument("email", help="who covers")
    override.add_argument("duration", nargs="?", help="from --from (default now): 30m, 4h, 2d; or give --to")
    override.add_argument("--from", dest="start", help="ISO time (default now); without an offset: the schedule's zone")
    override.add_argument("--to", dest="end", help="ISO time the override ends")
    override.add_argument("--for", dest="for_email", help="the email of whom they cover")
    cancel = actions.add_parser("cancel", help="cancel an override by its number (audited, as the CLI)")
    cancel.add_argument("id", type=int)
    listed = actions.add_parser("overrides", help="a schedule's overrides running or to come, with their numbers")
    listed.add_argument("schedule", help="an applied schedule's name")
    offer = actions.add_parser("offer", help="offer someone's shift for swapping (audited, as the CLI)")
    offer.add_argument("schedule", help="an applied schedule's name")
    offer.add_argument("email", help="whose shift (they must be on call for all of it)")
    offer.add_argument("--from", dest="start", help="ISO time; with --to (default: their shift running or next)")
    offer.add_argument("--to", dest="end", help="ISO time the offered shift ends")
    offers = actions.add_parser("offers", help="a schedule's open shift offers, with their numbers")
    offers.add_argument("schedule", help="an applied schedule's name")
    take = actions.add_parser("take", help="someone takes an offered shift: an override (audited, as the CLI)")
    take.add_argument("id", type=int)
    take.add_argument("email", help="who takes it")
    cancel_offer = actions.add_parser("cancel-offer", help="withdraw a shift offer nobody took (audited, as the CLI)")
    cancel_offer.add_argument("id", type=int)
    from bot import oncall_feeds_cli
    oncall_feeds_cli.add_actions(actions)
    oncall_feeds_cli.add_fairness(actions)


def _instant(value: str, zone: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"tocsin oncall show: {what} {value!r} is not an ISO date or time "
                         "(such as 2026-03-29 or 2026-03-29T09:00+01:00)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


async def overrides_of(settings: Any, name: str) -> list[Any]:
    """The overrides of schedule ``name`` in the database, not cancelled (the timeline clips them)."""
    from bot import bootstrap
    from storage import overrides

    container = bootstrap.build(settings)
    try:
        async with container.db.sessions() as session:
            return (await overrides.active(session, datetime(1970, 1, 1, tzinfo=UTC), [name])).get(name, [])
    finally:
        await container.close()


def run(args: argparse.Namespace, config: TocsinConfig, now: datetime, covering: list[Any] | None = None) -> int:
    schedules = {s.name: s for s in config.schedules}
    schedule = schedules.get(args.schedule)
    if schedule is None:
        known = ", ".join(sorted(schedules)) or "none: add a schedules: section to the config file (docs/oncall.md)"
        print(f"tocsin oncall show: no schedule {args.schedule!r} in the config file (known: {known})")
        return 2
    zone = schedule.zone
    start = _instant(args.start, zone, "--from") if args.start else now
    end = _instant(args.end, zone, "--to") if args.end else start + timedelta(days=7)
    if end <= start:
        print("tocsin oncall show: --to must be after --from")
        return 2
    rows = [(f"{s.start.astimezone(zone):%a %Y-%m-%d %H:%M %z}", f"{s.end.astimezone(zone):%a %Y-%m-%d %H:%M %z}",
             s.who or "(nobody)", s.layer or "-") for s in timeline(schedule, start, end, covering or [])]
    header = ("start", "end", "who", "layer")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print(f"{schedule.name} ({schedule.timezone})")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _window(args: argparse.Namespace, zone: Any, now: datetime) -> tuple[datetime, datetime]:
    from bot.commands.grammar import parse_duration

    start = _instant(args.start, zone, "--from") if args.start else now
    if (args.duration is None) == (args.end is None):
        raise SystemExit("tocsin oncall override: give a duration (4h) or --to, not both")
    if args.end:
        return start, _instant(args.end, zone, "--to")
    try:
        return start, start + parse_duration(args.duration)
    except ValueError:
        raise SystemExit(f"tocsin oncall override: {args.duration!r} is not a duration like 30m, 4h or 2d") from None


async def _apply(args: argparse.Namespace, container: Any, now: datetime) -> str:
    from storage import overrides
    from storage.actors import Actor, Source

    actor = Actor.system(Source.CLI, "cli")
    if args.action == "overrides":
        return await _listing(args.schedule, container, now)
    if args.action in ("offer", "offers", "take", "cancel-offer"):
        return await _swap(args, container, actor, now)
    async with container.db.transaction() as session:
        if args.action == "cancel":
            row = await overrides.cancel(session, actor, args.id, now)
            return f"override {row.id} of {row.schedule} cancelled"
        schedule = await overrides.schedule_named(session, args.schedule)
        start, end = _window(args, schedule.zone, now)
        who = await overrides.person_by_email(session, args.email)
        for_whom = await overrides.person_by_email(session, args.for_email) if args.for_email else None
        made = await overrides.create(session, actor, schedule.name, who, for_whom, start, end, now)
    zone = schedule.zone
    return (f"override {made.id}: {made.who} is on call for {schedule.name} from "
            f"{made.start.astimezone(zone):%a %Y-%m-%d %H:%M %z} to {made.end.astimezone(zone):%a %Y-%m-%d %H:%M %z}")


def table(rows: list[tuple[str, ...]]) -> list[str]:
    """``rows`` (the first is the header) as left-aligned columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


async def _listing(name: str, container: Any, now: datetime) -> str:
    from storage import overrides
    from storage.directory import Readable

    async with container.db.sessions() as session:
        schedule = await overrides.schedule_named(session, name)
        found = await overrides.listing(session, Readable("cli", None), now, schedule.name)
    zone = schedule.zone
    rows = [(str(o.id), f"{o.start.astimezone(zone):%a %Y-%m-%d %H:%M %z}", f"{o.end.astimezone(zone):%a %Y-%m-%d %H:%M %z}",
             o.who, o.for_whom or "-", o.created_by) for o in found]
    lines = [f"{schedule.name} ({schedule.timezone})"]
    return "\n".join(lines + (table([("id", "start", "end", "who", "for", "by"), *rows]) if rows
                               else ["  (none running or to come)"]))


async def _swap(args: argparse.Namespace, container: Any, actor: Any, now: datetime) -> str:
    """``tocsin oncall offer|offers|take|cancel-offer`` (storage/offers.py has the rules)."""
    from storage import offers, overrides
    from storage.directory import Readable

    def at(t: datetime, zone: Any) -> str:
        return f"{t.astimezone(zone):%a %Y-%m-%d %H:%M %z}"

    async with container.db.transaction() as session:
        if args.action == "take":
            taken = await offers.take(session, actor, args.id, await overrides.person_by_email(session, args.email), now)
            made, zone = taken.override, taken.override.schedule.zone
            return (f"offer {args.id} taken: override {made.id} puts {made.who} on call for {made.schedule.name} "
                    f"instead of {made.for_whom} from {at(made.start, zone)} to {at(made.end, zone)}")
        if args.action == "cancel-offer":
            row = await offers.cancel(session, actor, args.id, now)
            return f"offer {row.id} of {row.schedule} cancelled"
        schedule = await overrides.schedule_named(session, args.schedule)
        zone = schedule.zone
        if args.action == "offers":
            found = await offers.listing(session, Readable("cli", None), now, schedule.name)
            rows = [(str(o.id), at(o.start, zone), at(o.end, zone), o.who, o.created_by) for o in found]
            return "\n".join([f"{schedule.name} ({schedule.timezone})"] + (
                table([("id", "start", "end", "who", "by"), *rows]) if rows else ["  (none open)"]))
        if (args.start is None) != (args.end is None):
            raise SystemExit("tocsin oncall offer: give --from and --to, or neither for their next shift")
        start = _instant(args.start, zone, "--from") if args.start else None
        end = _instant(args.end, zone, "--to") if args.end else None
        made = await offers.offer(session, actor, schedule.name, await overrides.person_by_email(session, args.email),
                                  start, end, now)
    return f"offer {made.id}: {made.who}'s shift of {schedule.name} from {at(made.start, zone)} to {at(made.end, zone)}"


async def change(args: argparse.Namespace, settings: Any) -> int:
    """``tocsin oncall override|cancel|overrides|offer|offers|take|cancel-offer`` against the database."""
    import sys

    from bot import bootstrap
    from storage.errors import TocsinError

    container = bootstrap.build(settings)
    try:
        print(await _apply(args, container, container.clock.now()))
        return 0
    except TocsinError as exc:
        print(f"tocsin oncall {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        await container.close()
