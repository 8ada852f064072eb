"""Slack HTTP-mode acknowledgement latency: slash commands and button presses while webhooks load the database.

``tocsin serve`` runs as its own process (uvicorn, as deployed) on a fresh PostgreSQL database, in Slack
HTTP mode, its Web API pointed at the fake Slack (``tests/fakes/slack_api.py``) in a third process. This
process sends signed ``/incident`` commands and ``block_actions`` presses at a fixed rate and times each
request until its HTTP answer (Slack's 3-second ack). Three phases: no other load; N concurrent senders
posting Alertmanager webhooks (the workload of bench/webhooks.py) to a sidecar process on the same
database (the database is loaded, the Slack process is not); and the same webhooks posted to the Slack
process itself (it also does the ingest work on its event loop).

    .venv/bin/python bench/slack_ack.py [--duration 20] [--rate 20] [--webhook-rate 10] [--webhook-concurrency 8]
                                        [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fakes.slack_api import SlackRequests  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_webhooks", ROOT / "bench" / "webhooks.py")
webhooks = importlib.util.module_from_spec(_spec)
sys.modules["bench_webhooks"] = webhooks  # dataclasses look their module up
_spec.loader.exec_module(webhooks)  # type: ignore[union-attr]

SECRET = "bench-signing-secret-0123456789abcdef"
CONFIG = f"""
teams:
  - {{name: payments, slack_channel: CPAYMENTS}}
  - {{name: platform, slack_channel: CPLATFORM}}
people:
  - {{name: Rita Responder, email: rita@example.com, slack: URESPONDER, teams: {{payments: responder, platform: responder}}}}
  - {{name: Olga Observer, email: olga@example.com, slack: UOBSERVER, teams: {{payments: observer}}}}
routing: {{services: {{checkout: payments}}}}
integrations:
  - {{name: alertmanager, type: alertmanager, token: {webhooks.TOKEN}, team: platform}}
"""
COMMANDS = ("list", "show {n}", "note {n} bench note", "ack {n}", "timeline {n}", "snooze {n} 30m", "bogus {n}",
            "severity {n} high", "list all", "help")


@dataclass
class Series:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")

    def row(self, load: str) -> str:
        bad = sum(self.failures.values())
        return (f"| {self.name} | {load} | {len(self.latencies)} | {self.pct(50):.1f} | {self.pct(95):.1f} | "
                f"{self.pct(99):.1f} | {max(self.latencies, default=0) * 1000:.1f} | {bad or 0} |")


class Presser:
    """Signed commands and presses over real HTTP; each timed until the ack arrives."""

    def __init__(self, http: aiohttp.ClientSession, base: str, fake_port: int, incidents: int) -> None:
        self.http, self.base, self.incidents = http, base, incidents
        self.requests = SlackRequests(SECRET)
        self.requests._response_url = lambda key: f"http://127.0.0.1:{fake_port}/response/{key}"  # type: ignore
        self.n = itertools.count()

    async def send(self, body: str, series: Series) -> None:
        headers = self.requests.sign(body)
        started = time.perf_counter()
        async with self.http.post(f"{self.base}/slack/events", data=body.encode(), headers=headers) as response:
            await response.read()
            status = response.status
        series.latencies.append(time.perf_counter() - started)
        if status != 200:
            series.failures[status] = series.failures.get(status, 0) + 1

    async def command(self, series: Series) -> None:
        i = next(self.n)
        text = COMMANDS[i % len(COMMANDS)].format(n=1 + i % self.incidents)
        await self.send(self.requests.command(text)[0], series)

    async def press(self, series: Series) -> None:
        i = next(self.n)
        number = 1 + i % self.incidents
        action_id = ("incident.acknowledge.v1", "incident.escalate.v1", "incident.resolve.v1")[i % 3]
        action = {"type": "button", "action_id": action_id, "value": str(number),
                  "block_id": f"incident.actions.v1:{number}:bench{i}"}
        user = "UOBSERVER" if i % 5 == 0 else "URESPONDER"  # some refusals too
        await self.send(self.requests.action(action, user_id=user)[0], series)


async def paced(duration: float, rate: float, job) -> None:
    """Fire ``job`` ``rate`` times a second (open loop: a slow answer does not slow the next request)."""
    tasks, interval, deadline = [], 1.0 / rate, time.perf_counter() + duration
    while time.perf_counter() < deadline:
        tasks.append(asyncio.create_task(job()))
        await asyncio.sleep(interval)
    await asyncio.gather(*tasks)


async def paced_webhooks(http: aiohttp.ClientSession, target: str, duration: float, rate: float) -> Series:
    """``rate`` Alertmanager webhooks a second (20 alerts each) to ``target``, open loop."""
    workload, series = webhooks.Workload(20, f"paced{time.time_ns()}"), Series("webhook")
    headers = {"Authorization": f"Bearer {webhooks.TOKEN}", "Content-Type": "application/json"}

    async def one() -> None:
        body = workload.next()  # pre-encoded JSON, as bench/webhooks.py sends it
        started = time.perf_counter()
        async with http.post(f"{target}/webhooks/alertmanager", data=body, headers=headers) as response:
            await response.read()
        series.latencies.append(time.perf_counter() - started)

    await paced(duration, rate, one)
    return series


async def phase(presser: Presser, target: str | None, where: str, duration: float, rate: float,
                load: int, webhook_rate: float) -> tuple[Series, Series, str]:
    """One measurement; with ``target``, webhooks post to it meanwhile: paced at ``webhook_rate`` a second,
    or as fast as ``load`` closed-loop senders go when ``webhook_rate`` is 0."""
    commands, presses = Series("slash command"), Series("button press")
    jobs = [paced(duration, rate / 2, lambda: presser.command(commands)),
            paced(duration, rate / 2, lambda: presser.press(presses))]
    if target is None:
        await asyncio.gather(*jobs)
        return commands, presses, "none"
    if webhook_rate:
        hooks = asyncio.create_task(paced_webhooks(presser.http, target, duration, webhook_rate))
        await asyncio.gather(*jobs)
        done = await hooks
        return commands, presses, (f"{where}: {webhook_rate:.0f} webhooks/s paced ({webhook_rate * 20:.0f} alerts/s), "
                                   f"webhook p99 {done.pct(99):.0f} ms")
    cell_task = asyncio.create_task(webhooks.run_cell([target], [], 20, load, duration))
    await asyncio.gather(*jobs)
    cell = await cell_task
    return commands, presses, (f"{where}: {load} closed-loop senders, {cell.requests / cell.elapsed:,.0f} webhooks/s "
                               f"({cell.alerts / cell.elapsed:,.0f} alerts/s)")


async def run(base: str, server: subprocess.Popen, sidecar: str, sidecar_server: subprocess.Popen, fake_port: int,
              args: argparse.Namespace) -> list[str]:
    await webhooks.wait_ready(base, server)
    await webhooks.wait_ready(sidecar, sidecar_server)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        presser = Presser(http, base, fake_port, args.incidents)
        for i in range(args.incidents):  # incidents to press on, declared through Slack itself
            await presser.send(presser.requests.command(f"declare Bench incident {i} team:payments")[0],
                               Series("setup"))
        await asyncio.sleep(2)
        await phase(presser, None, "", 3, args.rate, 0, 0)  # warm-up
        rows = []
        plan = [(None, "", 0.0)]
        for webhook_rate in (args.webhook_rate, 0.0):
            plan += [(sidecar, "sidecar process, same database", webhook_rate), (base, "same process", webhook_rate)]
        for target, where, webhook_rate in plan:
            commands, presses, note = await phase(presser, target, where, args.duration, args.rate,
                                                  args.webhook_concurrency, webhook_rate)
            rows += [commands.row(note), presses.row(note)]
            print(rows[-2], rows[-1], sep="\n", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default=os.environ.get("TOCSIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="Slack requests per second (half commands)")
    parser.add_argument("--webhook-rate", type=float, default=10.0, help="paced webhooks per second")
    parser.add_argument("--webhook-concurrency", type=int, default=8, help="closed-loop senders (saturating)")
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="write bench/results-slack.md")
    args = parser.parse_args()
    url = webhooks.create_database(args.pg)
    fake_port, port = webhooks.free_port(), webhooks.free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost"}
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack_api", str(fake_port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "tocsin.yml"
        config.write_text(CONFIG)
        env = {**env, "TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "ERROR", "TOCSIN_SCHEDULER": "off",
               "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": f"http://127.0.0.1:{fake_port}/api/"}
        for unset in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "TELEGRAM_BOT_TOKEN"):
            env.pop(unset, None)
        server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--config",
                                   str(config)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        sidecar_port = webhooks.free_port()
        sidecar = subprocess.Popen([sys.executable, "-m", "bot", "sidecar", "--port", str(sidecar_port), "--config",
                                    str(config)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        try:
            rows = asyncio.run(run(f"http://127.0.0.1:{port}", server, f"http://127.0.0.1:{sidecar_port}", sidecar,
                                   fake_port, args))
        finally:
            for process in (server, sidecar, fake):
                process.terminate()
                process.wait(timeout=20)
            webhooks.drop_database(args.pg, url)
    report(rows, args)
    return 0


def report(rows: list[str], args: argparse.Namespace) -> None:
    header = ("| request | webhook load | n | p50 ms | p95 ms | p99 ms | max ms | non-200 |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|")
    table = "\n".join([header, *rows])
    print("\n" + table)
    if args.write:
        command = " ".join([".venv/bin/python bench/slack_ack.py", *sys.argv[1:]])
        (ROOT / "bench" / "results-slack.md").write_text(
            f"## Slack HTTP-mode ack latency (bench/slack_ack.py)\n\n`{command}`\n\n{table}\n\n"
            f"{json.dumps({'rate_per_s': args.rate, 'duration_s': args.duration}, sort_keys=True)}\n")


if __name__ == "__main__":
    raise SystemExit(main())
