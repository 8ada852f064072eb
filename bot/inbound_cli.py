"""``tocsin inbound list`` / ``replay``: chat deliveries that failed, for an operator to see and replay."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot import bootstrap
from bot.settings import Settings
from storage import inbound

OPEN = (inbound.PENDING, inbound.FAILED, inbound.DEAD)


def add_parser(sub: Any) -> None:
    """The ``inbound`` subcommands, on the ``tocsin`` parser."""
    actions = sub.add_parser("inbound", help="chat deliveries that failed: list and replay them") \
        .add_subparsers(dest="action", required=True)
    lst = actions.add_parser("list", help="deliveries pending, failed or dead (and done ones with --all)")
    lst.add_argument("--all", action="store_true", help="include deliveries already processed")
    lst.add_argument("--limit", type=int, default=100)
    replay = actions.add_parser("replay", help="process failed or dead deliveries again (by a running serve)")
    replay.add_argument("ids", nargs="*", type=int, metavar="ID", help="the deliveries to replay")
    replay.add_argument("--all", action="store_true", help="every failed or dead delivery")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "replay" and bool(args.ids) == args.all:
        print("usage: tocsin inbound replay ID [ID ...] | --all (the ids that tocsin inbound list shows, "
              "or --all for every failed or dead delivery, not both)", file=sys.stderr)
        return 2
    return asyncio.run(_list(args, settings) if args.action == "list" else _replay(args, settings))


def summary(row: inbound.Inbound) -> str:
    """What the delivery was, in a few words (never its tokens: those are not kept)."""
    payload = row.payload
    if row.platform in inbound.INSPECT_ONLY:
        return f"webhook of integration {payload.get('integration')!r} (kept for inspection, not replayed)"
    if "callback_query" in payload:
        return f"button {payload['callback_query'].get('data', '')!r}"
    message = payload.get("message") or payload.get("edited_message")
    if message:
        return f"message {(message.get('text') or '')[:40]!r} in chat {message.get('chat', {}).get('id')}"
    if "command" in payload:
        return f"command {payload['command']} {(payload.get('text') or '')[:40]!r}"
    return str(payload.get("type") or "delivery")


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap.build(settings)
    try:
        statuses = (*OPEN, inbound.DONE) if args.all else OPEN
        rows = await inbound.listing(container.db, statuses, args.limit)
    finally:
        await container.close()
    for row in rows:
        print(f"#{row.id:<5} {row.platform:<9} {row.status:<8} attempts {row.attempts:<2} "
              f"{row.received_at:%Y-%m-%d %H:%M:%S} {summary(row)}")
        if row.last_error and row.status != inbound.DONE:
            print(f"       last error: {row.last_error}")
    print(f"{len(rows)} deliver{'ies' if len(rows) != 1 else 'y'}")
    return 0


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap.build(settings)
    try:
        found = {} if args.all else await inbound.statuses(container.db, args.ids)
        refused = [f"no delivery #{i}" for i in args.ids or () if i not in found]
        refused += [f"#{i} is {s}; only failed or dead deliveries are replayed" for i, s in found.items()
                    if s not in (inbound.FAILED, inbound.DEAD)]
        replayed = await inbound.replay(container.db, container.clock.now(), None if args.all else args.ids)
    finally:
        await container.close()
    refused += [f"#{i} is a webhook delivery its integration's mapping could not read, kept for inspection only: "
                "fix the mapping (tocsin config apply); the sender's next notification is read with it"
                for i, s in found.items() if s in (inbound.FAILED, inbound.DEAD) and i not in replayed]
    for reason in refused:
        print(f"tocsin: {reason}", file=sys.stderr)
    if replayed:
        print(f"{len(replayed)} deliver{'ies' if len(replayed) != 1 else 'y'} replayed: "
              f"{', '.join(f'#{i}' for i in replayed)} (a running tocsin serve processes them within seconds)")
    elif not refused:
        print("nothing to replay")
    return 1 if refused else 0
