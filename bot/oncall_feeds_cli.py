"""``tocsin oncall feed SCHEDULE | --person EMAIL [--rotate | --revoke]``: the secret URL of a calendar feed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from sqlalchemy import func, select

from bot import bootstrap
from bot.api.oncall_feeds import feed_url
from bot.settings import Settings, local_url
from storage import ical, schedules
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
