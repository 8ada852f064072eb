"""``tocsin oncall feed SCHEDULE | --person EMAIL [--rotate | --revoke]``: the secret URL of a calendar feed;
``tocsin oncall fairness [--team T] [--from] [--to]``: the fairness report as a table."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot import bootstrap
from bot.api.oncall_feeds import feed_url
from bot.settings import Settings, local_url
from storage import fairness, ical, schedules
from storage.directory import Readable
from storage.errors import NotFound
from storage.models import Person


def add_actions(actions: Any) -> None:
    """The feed subcommand, on ``tocsin oncall``."""
    feed = actions.add_parser("feed", help="the secret iCalendar URL of a schedule's or a person's shifts")
    feed.add_argument("schedule", nargs="?", help="the schedule (as applied by tocsin config apply)")
    feed.add_argument("--person", metavar="EMAIL", help="a person's shifts across every schedule instead")
    change = feed.add_mutually_exclusive_group()
    change.add_argument("--rotate", action="store_true", help="a new token: the old URL stops working")
    change.add_argument("--revoke", action="store_true", help="no URL at all until the next tocsin oncall feed")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.schedule) == bool(args.person):
        print("usage: tocsin oncall feed SCHEDULE | --person EMAIL [--rotate | --revoke] "
              "(a schedule's name or a person's email, not both)", file=sys.stderr)
        return 2
    return asyncio.run(_feed(args, settings))


async def _feed(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap.build(settings)
    kind, subject = (ical.PERSON, args.person.strip().lower()) if args.person else (ical.SCHEDULE, args.schedule)
    try:
        async with container.db.transaction() as session:
            if kind == ical.SCHEDULE:
                known = [s.name for s in await schedules.applied(session)]
                if subject not in known:
                    print(f"tocsin oncall feed: no schedule {subject!r} applied (known: "
                          f"{', '.join(sorted(known)) or 'none: tocsin config apply a file with schedules:'})",
                          file=sys.stderr)
                    return 2
            else:
                person = await session.scalar(select(Person).where(func.lower(Person.email) == subject))
                if person is None or not person.active:
                    print(f"tocsin oncall feed: no active person with email {subject}", file=sys.stderr)
                    return 2
                subject = person.email
            if args.revoke:
                gone = await ical.revoke(session, kind, subject)
                print(f"{'revoked' if gone else 'there was no'} calendar feed of {kind} {subject}")
                return 0
            feed = await ical.feed(session, kind, subject, container.clock.now(), rotate=args.rotate)
    finally:
        await container.close()
    base = settings.public_url or local_url(settings.host, settings.port)
    print(f"{'New c' if args.rotate else 'C'}alendar feed of {kind} {subject} (subscribe by URL; "
          f"keep it secret, tocsin oncall feed --rotate replaces it):\n{feed_url(base, feed.token)}")
    return 0


def add_fairness(actions: Any) -> None:
    """The fairness subcommand, on ``tocsin oncall``."""
    fair = actions.add_parser("fairness", help="per person: hours on call, outside working hours, pages, night pages")
    fair.add_argument("--team", help="only this team's schedules and incidents")
    fair.add_argument("--from", dest="start", help="ISO date or time, UTC unless it has an offset "
                                                   "(default: 7 days before --to)")
    fair.add_argument("--to", dest="end", help="ISO date or time (default: now)")


def _when(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"tocsin oncall fairness: {what} {value!r} is not an ISO date or time "
                         "(such as 2026-11-01 or 2026-11-01T09:00+00:00)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_fairness(args: argparse.Namespace, settings: Settings) -> int:
    from bot.api.oncall_fairness import window
    from bot.webhooks.http import HttpError

    start, end = _when(args.start, "--from"), _when(args.end, "--to")
    try:
        start, end = window(start, end, datetime.now(UTC))
    except HttpError as exc:
        detail = re.sub(r"^(from|to):", r"--\1", exc.detail).replace("after from", "after --from")
        print(f"tocsin oncall fairness: {detail}", file=sys.stderr)
        return 2
    return asyncio.run(_fairness(args, settings, start, end))


async def _fairness(args: argparse.Namespace, settings: Settings, start: datetime, end: datetime) -> int:
    container = bootstrap.build(settings)
    try:
        async with container.db.sessions() as session:
            rows = await fairness.report(session, Readable("tocsin CLI", None), start, end, args.team)
    except NotFound as exc:
        print(f"tocsin oncall fairness: {exc}", file=sys.stderr)
        return 2
    finally:
        await container.close()
    print(f"on call {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
          f"{f' (team {args.team})' if args.team else ''}; working hours "
          f"{fairness.WORK_START:%H:%M}-{fairness.WORK_END:%H:%M} Mon-Fri and night "
          f"{fairness.NIGHT_START:%H:%M}-{fairness.NIGHT_END:%H:%M}, in each person's zone")
    header = ("person", "zone", "hours", "outside working", "pages", "at night")
    table = [(r.person, r.timezone, f"{r.hours:.1f}", f"{r.hours_outside_working:.1f}", str(r.pages),
              str(r.night_pages)) for r in rows]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(cell.rjust(w) if i >= 2 else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    if not table:
        print("(nobody on call and no pages in this window)")
    return 0
