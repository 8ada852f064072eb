"""Who is on call at one instant for 1,000 schedules of 10 layers each (issue 15's target: at most 50 ms).

    .venv/bin/python bench/oncall.py
"""

from __future__ import annotations

import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta

from storage.oncall import Layer, Restriction, Rule, Schedule, on_call

ZONES = ("Europe/Lisbon", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC")
RULES = (Rule("weekly", at=time(9), weekday=0), Rule("daily", at=time(8, 30)), Rule("hours", hours=12, at=time(0)))


def schedules(n: int = 1000, layers: int = 10) -> list[Schedule]:
    found = []
    for i in range(n):
        found.append(Schedule(f"s{i}", None, ZONES[i % len(ZONES)], tuple(
            Layer(f"l{j}", tuple(f"p{i}-{j}-{k}@example.com" for k in range(5)), RULES[(i + j) % 3], date(2026, 1, 5),
                  Restriction(frozenset(range(5)), time(9), time(17)) if j % 2 else None)
            for j in range(layers))))
    return found


def main() -> None:
    all_ = schedules()
    at = datetime(2026, 3, 29, 12, tzinfo=UTC)
    runs = []
    for r in range(20):
        t = at + timedelta(minutes=37 * r)
        start = clock.perf_counter()
        for s in all_:
            on_call(s, t)
        runs.append((clock.perf_counter() - start) * 1000)
    print(f"who is on call, 1,000 schedules x 10 layers: median {statistics.median(runs):.1f} ms, "
          f"max {max(runs):.1f} ms over {len(runs)} instants")


if __name__ == "__main__":
    main()
