"""``tocsin oncall show SCHEDULE --from --to``: the final timeline of a schedule in the config file, as a table."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config_file import TocsinConfig
from storage.oncall import timeline


def add_parser(sub: Any) -> None:
    actions = sub.add_parser("oncall", help="on-call schedules: a schedule's timeline, calendar feeds, fairness") \
        .add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="the final timeline (layers, restrictions, overrides) as a table")
    show.add_argument("schedule")
    show.add_argument("--from", dest="start", help="ISO date or time (default: now); a bare time is the schedule's zone")
    show.add_argument("--to", dest="end", help="ISO date or time (default: 7 days after --from)")
    show.add_argument("--config", type=Path, help="the config file with the schedule (TOCSIN_CONFIG)")
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


def run(args: argparse.Namespace, config: TocsinConfig, now: datetime) -> int:
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
             s.who or "(nobody)", s.layer or "-") for s in timeline(schedule, start, end)]
    header = ("start", "end", "who", "layer")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print(f"{schedule.name} ({schedule.timezone})")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
