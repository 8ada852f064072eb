"""The web console under load: the board, the incident list and an incident's page with 1,000 open
incidents, and the memory of the process with 50 open event streams.

``tocsin serve`` runs as its own process (uvicorn, as a user runs it) on a fresh database: SQLite by
default, or a fresh PostgreSQL database with ``--pg URL`` (created and dropped here). This process posts
``--incidents`` Alertmanager webhooks, each a new alert group and so a new open incident, signs in to the
console as an admin through a real ``tocsin login-link``, then:

1. requests each page ``--requests`` times, one request at a time (so the latency is the server's: the
   client and the server share 127.0.0.1 and nothing else runs in between), after a warm-up, and reports
   p50 / p95 / p99 / max in milliseconds;
2. opens ``--streams`` event streams (``GET /events``) and samples the server's resident memory
   (VmRSS) before, with the streams open, and after ``--changes`` acknowledgements have been fanned out
   to every stream (each stream is checked to have received every changed card).

    .venv/bin/python bench/console.py [--incidents 1000] [--requests 300] [--streams 50] [--pg URL] [--write]

``--write`` appends the table to bench/results-console.md. The run is bounded and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.soak import wait_ready  # noqa: E402

TOKEN = "bench-console-alertmanager-token-0123456789"
CONFIG = f"""
teams: [{{name: payments}}]
people:
  - {{name: Ada Admin, email: ada@example.com, admin: true}}
integrations:
  - {{name: alertmanager, type: alertmanager, token: {TOKEN}, team: payments}}
"""
#: The pages measured: the board (the 100 newest open cards), the list's first page and a filtered and
#: searched one, and one incident's page.
PAGES = ["/", "/incidents", "/incidents?status=open&severity=critical&q=Disk", "/incidents/500"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def alert(n: int) -> dict:
    labels = {"alertname": f"DiskFull{n}", "service": "payments-db", "severity": "critical" if n % 4 == 0 else "warning",
              "instance": f"db{n}:9100"}
    return {"receiver": "tocsin", "status": "firing", "groupKey": f"{{}}:{{alertname=\"DiskFull{n}\"}}",
            "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "version": "4", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": labels,
                        "annotations": {"summary": f"Disk {n} is almost full",
                                        "runbook_url": "https://runbooks.example/disk"},
                        "startsAt": "2026-12-02T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"{n:016x}"}]}


def environment(database_url: str, console_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "SLACK_", "TELEGRAM_"))}
    env.update({"TOCSIN_DATABASE_URL": database_url, "TOCSIN_CONSOLE_URL": console_url,
                "TOCSIN_LOG_LEVEL": "ERROR", "NO_PROXY": "127.0.0.1,localhost"})
    return env


async def load(base: str, count: int) -> float:
    """Post ``count`` new alert groups, eight at a time; the seconds it took."""
    started, numbers = time.monotonic(), iter(range(1, count + 1))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async def sender() -> None:
            for n in numbers:
                async with http.post(f"{base}/webhooks/alertmanager", json=alert(n), headers=headers) as response:
                    assert response.status == 200, (response.status, await response.text())
        await asyncio.gather(*(sender() for _ in range(8)))
    return time.monotonic() - started


async def sign_in(http: aiohttp.ClientSession, base: str, env: dict[str, str]) -> str:
    """Follow a real ``tocsin login-link``; the session's CSRF token (the cookie stays in ``http``)."""
    printed = (await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "login-link", "ada@example.com"],
                                       cwd=ROOT, env=env, capture_output=True, text=True, check=True)).stdout
    link = re.search(r"http://\S+/login/\S+", printed).group(0)
    async with http.get(base + urlsplit(link).path) as page:
        text = await page.text()
    form = {name: re.search(rf'name="{name}" value="([^"]+)"', text).group(1) for name in ("token", "nonce")}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
        assert response.status == 303, response.status
    async with http.get(f"{base}/") as board:
        return re.search(r'name="csrf" value="([^"]+)"', await board.text()).group(1)


async def latencies(http: aiohttp.ClientSession, url: str, count: int) -> list[float]:
    for _ in range(20):  # warm-up
        async with http.get(url) as response:
            await response.read()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        async with http.get(url) as response:
            body = await response.read()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status == 200 and body, (url, response.status)
    return timings


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def streams(base: str, cookies, csrf: str, count: int, changes: int, newest: int, pid: int) -> dict[str, float]:
    """Open ``count`` event streams, acknowledge ``changes`` incidents, check every stream got each card."""
    memory = {"before streams": rss_mib(pid)}
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(None))
                for _ in range(count)]
    for session in sessions:
        session.cookie_jar.update_cookies(cookies)
    received = [set() for _ in range(count)]
    opened = [asyncio.Event() for _ in range(count)]
    complete = [asyncio.Event() for _ in range(count)]
    targets = set(range(newest - changes + 1, newest + 1))  # on the board: the newest

    async def reader(i: int) -> None:
        async with sessions[i].get(f"{base}/events") as response:
            assert response.status == 200, response.status
            async for line in response.content:
                opened[i].set()
                match = re.search(rb'id="incident-(\d+)"', line)
                if match:
                    received[i].add(int(match.group(1)))
                    if targets <= received[i]:
                        complete[i].set()

    readers = [asyncio.create_task(reader(i)) for i in range(count)]
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 30)
        await asyncio.sleep(1)
        memory[f"{count} streams open"] = rss_mib(pid)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            http.cookie_jar.update_cookies(cookies)
            for number in sorted(targets):
                async with http.post(f"{base}/incidents/{number}/ack", data={"csrf": csrf}) as response:
                    assert response.status in (200, 303), response.status
        await asyncio.wait([asyncio.ensure_future(e.wait()) for e in complete], timeout=30)
        memory[f"after {changes} changes fanned out"] = rss_mib(pid)
        memory["streams that got every change"] = sum(e.is_set() for e in complete)
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for session in sessions:
            await session.close()
    await asyncio.sleep(1)
    memory["streams closed"] = rss_mib(pid)
    return memory


def fresh_pg(url: str) -> tuple[str, str]:
    import psycopg
    name = f"bench_console_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, re.sub(r"/[^/]*$", f"/{name}", url.replace("postgresql://", "postgresql+psycopg://", 1))


def drop_pg(url: str, name: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop(server: subprocess.Popen, pg_url: str | None, pg_name: str | None) -> None:
    """The bench's server stopped and its throwaway PostgreSQL database dropped."""
    server.terminate()
    server.wait(30)
    if pg_name:
        drop_pg(pg_url, pg_name)


def provenance() -> tuple[str, tuple[float, float, float]]:
    """What a result line names so it can be checked: the commit measured and the machine's load then."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return commit.stdout.strip(), os.getloadavg()


async def run(args: argparse.Namespace, workdir: Path) -> tuple[str, dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pg_name = None
    if args.pg:
        pg_name, database_url = fresh_pg(args.pg)
    else:
        database_url = f"sqlite:///{workdir / 'tocsin.db'}"
    env = environment(database_url, base)
    (workdir / "tocsin.yml").write_text(CONFIG)
    server = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "bot", "serve", "--port", str(port),
                               "--config", str(workdir / "tocsin.yml")], cwd=ROOT, env={**env, "TOCSIN_SCHEDULER": "off"},
                              stdout=subprocess.DEVNULL)
    try:
        await wait_ready(base, server)
        loaded = await load(base, args.incidents)
        results = {"database": "PostgreSQL" if args.pg else "SQLite", "load seconds": loaded, "pages": {}}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await sign_in(http, base, env)
            for page in args.pages:
                results["pages"][page] = await latencies(http, base + page, args.requests)
            cookies = {c.key: c.value for c in http.cookie_jar}
        results["memory"] = await streams(base, cookies, csrf, args.streams, args.changes, args.incidents, server.pid)
        return base, results
    finally:
        stop(server, args.pg, pg_name)


def report(args: argparse.Namespace, results: dict) -> str:
    commit, load = provenance()
    lines = [f"### {results['database']}, {args.incidents} open incidents, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
             f"commit {commit}, load average {load[0]:.1f} {load[1]:.1f}",
             "", f"{args.incidents} webhooks loaded in {results['load seconds']:.1f} s.", "",
             f"| page ({args.requests} requests, one at a time) | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|"]
    for page, timings in results["pages"].items():
        lines.append(f"| `GET {page}` | {statistics.median(timings):.1f} | {percentile(timings, 95):.1f} | "
                     f"**{percentile(timings, 99):.1f}** | {max(timings):.1f} |")
    lines += ["", "| server resident memory | MiB |", "|---|---:|"]
    for what, value in results["memory"].items():
        lines.append(f"| {what} | {value:.1f} |" if isinstance(value, float) else f"| {what} | {value} of {args.streams} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pages", nargs="+", default=PAGES, help="the paths measured")
    parser.add_argument("--pg", help="a PostgreSQL server URL; a fresh database is made there for the run")
    parser.add_argument("--write", action="store_true", help="append the table to bench/results-console.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-console-") as tmp:
        _, results = asyncio.run(run(args, Path(tmp)))
    table = report(args, results)
    print(table)
    if args.write:
        with (ROOT / "bench" / "results-console.md").open("a") as out:
            out.write("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
