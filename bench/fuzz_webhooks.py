"""Webhook fuzz: mutated real payloads (tests/webhooks/fixtures, every source) against a real sidecar process.

Each request is a fixture with one to four random mutations (numbers past a double, NUL, lone surrogates,
huge integers, wrong types, missing and renamed keys; tests/webhooks/fuzzing.py), the same for the same
seed. Fails (exit 1) on any 5xx, counted by the client and by the sidecar's own /metrics.

    .venv/bin/python bench/fuzz_webhooks.py [--requests 10000] [--seed 20261202] [--postgres URL]
    (--postgres: a server where a throwaway database is created, e.g. postgresql://postgres@127.0.0.1:5432/test)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.sidecar_run import answered, database, server_errors, sidecar
from tests.webhooks.fuzzing import cases

JSON = {"Content-Type": "application/json"}


async def fuzz(base: str, requests: int, seed: int, concurrency: int) -> tuple[Counter, list[str]]:
    statuses: Counter = Counter()
    failures: list[str] = []
    queue = iter(cases(seed, requests))

    async def sender(http: httpx.AsyncClient) -> None:
        for sample, body in queue:
            response = await http.post(sample.path, content=body, headers={**sample.headers, **JSON})
            statuses[response.status_code] += 1
            if response.status_code >= 500 and len(failures) < 20:
                failures.append(f"{response.status_code} {sample.source}/{sample.name}: {body[:300]!r} -> "
                                f"{response.text[:200]}")

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
    return statuses, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with database(args.postgres) as url, sidecar(url) as base:
        started = time.perf_counter()
        statuses, failures = asyncio.run(fuzz(base, args.requests, args.seed, args.concurrency))
        elapsed = time.perf_counter() - started
        served = answered(base)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; seed {args.seed}; {sum(statuses.values())} "
          f"requests in {elapsed:.1f} s ({sum(statuses.values()) / elapsed:.0f}/s, concurrency {args.concurrency})")
    print(f"client statuses: {dict(sorted(statuses.items()))}")
    print(f"sidecar /metrics statuses: {served}")
    print(*failures, sep="\n")
    bad = sum(n for s, n in statuses.items() if s >= 500) + server_errors(served)
    print("5xx:", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
