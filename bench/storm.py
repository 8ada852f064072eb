"""A storm: 1,000 alerts in one minute for one team, as 1,000 distinct groups (issue 16, item 4).

``tocsin serve`` runs as its own process (as a user runs it, escalation scheduler on) on a fresh database
(SQLite, or PostgreSQL with ``--pg``), its Slack client pointed at the fake Slack Web API of
``tests/fakes/`` on 127.0.0.1. Alertmanager webhooks arrive evenly over ``--seconds``, each a new group of
team payments. Then it waits until Slack has been quiet for 15 s and reports: the posts and updates in the
team's channel, the ingest answers, and how many incidents ``GET /api/incidents`` lists.

    .venv/bin/python bench/storm.py                                    # SQLite
    .venv/bin/python bench/storm.py --pg postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.console import alert, free_port, fresh_pg, provenance, stop  # noqa: E402
from bench.soak import wait_ready  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402

TOKEN = "bench-storm-alertmanager-token-0123456789"
API_TOKEN = "bench-storm-api-token-0123456789"
CHANNEL = "C0PAYMENTS"
CONFIG = f"""
teams: [{{name: payments, slack_channel: {CHANNEL}}}]
people:
  - {{name: Ada Admin, email: ada@example.com, admin: true, slack: U0ADA, teams: {{payments: team_lead}}}}
integrations:
  - {{name: alertmanager, type: alertmanager, token: {TOKEN}, team: payments}}
api_tokens:
  - {{name: bench, token: {API_TOKEN}, role: admin}}
"""


async def storm(base: str, count: int, seconds: float) -> Counter:
    """Post ``count`` new groups evenly over ``seconds``; the answers' status codes."""
    statuses: Counter = Counter()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        async def send(n: int) -> None:
            await asyncio.sleep(max(0.0, start + n * seconds / count - time.monotonic()))
            try:
                async with http.post(f"{base}/webhooks/alertmanager", json=alert(n), headers=headers) as response:
                    statuses[response.status] += 1
            except aiohttp.ClientError as exc:
                statuses[type(exc).__name__] += 1
        await asyncio.gather(*(send(n) for n in range(1, count + 1)))
    statuses["seconds"] = round(time.monotonic() - start, 1)
    return statuses


def in_channel(fake: FakeSlack) -> Counter:
    return Counter(c.method for c in fake.calls if c.method in ("chat.postMessage", "chat.update")
                   and c.args.get("channel") == CHANNEL)


async def quiet(fake: FakeSlack, seconds: float, most: float = 120) -> None:
    """Until the team's channel has had no post or update for ``seconds`` (at most ``most`` seconds)."""
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        seen = sum(in_channel(fake).values())
        await asyncio.sleep(seconds)
        print(f"channel so far: {dict(in_channel(fake))}", file=sys.stderr)
        if sum(in_channel(fake).values()) == seen:
            return


async def listed(base: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(
            f"{base}/api/incidents?limit=1", headers={"Authorization": f"Bearer {API_TOKEN}"}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["total"]


async def run(args: argparse.Namespace, workdir: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pg_name, database_url = fresh_pg(args.pg) if args.pg else (None, f"sqlite:///{workdir / 'tocsin.db'}")
    (workdir / "tocsin.yml").write_text(CONFIG)
    async with FakeSlack() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "SLACK_", "TELEGRAM_"))}
        env.update({"TOCSIN_DATABASE_URL": database_url, "TOCSIN_LOG_LEVEL": "ERROR", "NO_PROXY": "127.0.0.1,localhost",
                    "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-signing-secret",
                    "SLACK_API_URL": fake.base_url})
        server = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "bot", "serve", "--port", str(port), "--config",
                                   str(workdir / "tocsin.yml")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        try:
            await wait_ready(base, server)
            statuses = await storm(base, args.alerts, args.seconds)
            print(f"sent: {dict(statuses)}", file=sys.stderr)
            await quiet(fake, 15)
            counted = in_channel(fake)
            return {"database": "PostgreSQL" if args.pg else "SQLite", "statuses": statuses,
                    "posts": counted["chat.postMessage"], "updates": counted["chat.update"],
                    "listed": await listed(base)}
        finally:
            stop(server, args.pg, pg_name)


def report(args: argparse.Namespace, r: dict) -> str:
    commit, load = provenance()
    answers = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items() if k != "seconds")
    return (f"{r['database']}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, load average {load[0]:.1f}: "
            f"{args.alerts} alerts in {r['statuses']['seconds']} s; answers {answers}; team channel "
            f"{r['posts']} posts + {r['updates']} updates = {r['posts'] + r['updates']}; "
            f"GET /api/incidents total {r['listed']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pg", help="a PostgreSQL server URL; a fresh database is made there for the run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args, Path(workdir)))
    print(report(args, results))
    ok = (results["posts"] + results["updates"] <= 20 and results["listed"] == args.alerts
          and set(results["statuses"]) <= {200, 201, 202, "seconds"})
    print("target (<= 20 posts and updates, every alert listed, every answer 2xx):", "met" if ok else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
