"""Webhook ingest benchmark: sustained throughput and latency of POST /webhooks/alertmanager on PostgreSQL.

The sidecar runs as its own process (``python -m bot sidecar``, i.e. uvicorn, exactly as deployed) on a
fresh PostgreSQL database; this process loads it with aiohttp from a closed loop of N concurrent
senders for a fixed duration per cell. Payloads are Alertmanager webhook bodies of K alerts (one group
each): 60% new firing groups, 30% exact duplicates of an earlier payload, 10% resolutions of an earlier
payload (each resolved once), so 30% of alerts are duplicates and 10% resolved.

    .venv/bin/python bench/webhooks.py [--duration 10] [--sizes 1,20] [--concurrency 1,8,32] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from storage import migrations  # noqa: E402

TOKEN = "bench-alertmanager-token-0123456789"
CONFIG = f"""
teams: [{{name: payments}}, {{name: platform}}]
routing: {{services: {{checkout: payments}}}}
integrations:
  - {{name: alertmanager, type: alertmanager, token: {TOKEN}, team: platform}}
api_tokens:
  - {{name: bench, token: bench-api-token, role: observer}}
"""


@dataclass
class Cell:
    size: int
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    requests: int = 0
    failures: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU used by the sidecar process(es) during the cell
    client_cpu: float = 0.0  # seconds of CPU used by this load generator during the cell
    database_cpu: float = 0.0  # seconds of CPU used by the PostgreSQL backends serving the sidecar(s)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and at the end

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")

    def row(self) -> str:
        rate = self.alerts / self.elapsed if self.elapsed else 0
        bad = sum(self.failures.values())
        per = 1000 / self.requests if self.requests else float("nan")
        return (f"| {self.size} | {self.concurrency} | {self.requests / self.elapsed:,.0f} | {rate:,.0f} | "
                f"{self.pct(50):.1f} | {self.pct(95):.1f} | {self.pct(99):.1f} | "
                f"{statistics.fmean(self.latencies) * 1000:.1f} | {bad}{' ' + str(self.failures) if bad else ''} | "
                f"{self.server_cpu * per:.2f} | {self.database_cpu * per:.2f} | {self.client_cpu * per:.2f} | "
                f"{self.load[0]:.1f}-{self.load[1]:.1f} |")


class Workload:
    """Alertmanager payloads: new groups, exact duplicates, resolutions; deterministic per seed."""

    def __init__(self, size: int, tag: str, seed: int = 7) -> None:
        self.size, self.tag, self.rng = size, tag, random.Random(seed)
        self.sent: list[bytes] = []  # firing bodies already sent (candidates for duplicates)
        self.unresolved: list[int] = []  # groups sent firing and not yet resolved
        self.groups = 0

    def _alert(self, group: int, i: int, status: str, starts: str, ends: str) -> dict:
        service = "checkout" if group % 3 == 0 else f"svc-{group % 50}"
        return {"status": status, "labels": {"alertname": f"Bench{group}", "service": service,
                                             "instance": f"host-{i}:9100", "severity": ("critical", "warning")[i % 2]},
                "annotations": {"summary": f"bench alert {group}/{i}"}, "startsAt": starts, "endsAt": ends,
                "generatorURL": "http://prometheus.local/graph", "fingerprint": f"{self.tag}-{group}-{i}"}

    def _payload(self, group: int, status: str) -> bytes:
        """The body, encoded once: the load generator shares the two cores, so it does no per-request JSON."""
        starts, ends = "2026-11-22T10:00:00Z", "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-22T10:05:00Z"
        alerts = [self._alert(group, i, status, starts, ends) for i in range(self.size)]
        payload = {"version": "4", "status": status, "receiver": "tocsin",
                   "groupKey": f'{{}}:{{bench="{self.tag}-{group}"}}', "truncatedAlerts": 0,
                   "groupLabels": {"alertname": f"Bench{group}"}, "commonLabels": {}, "commonAnnotations": {},
                   "externalURL": "http://alertmanager.local", "alerts": alerts}
        return json.dumps(payload, separators=(",", ":")).encode()

    def next(self) -> bytes:
        roll = self.rng.random()
        if roll < 0.30 and self.sent:
            return self.rng.choice(self.sent)
        if roll < 0.40 and self.unresolved:
            group = self.unresolved.pop(self.rng.randrange(len(self.unresolved)))
            return self._payload(group, "resolved")
        self.groups += 1
        body = self._payload(self.groups, "firing")
        self.sent.append(body)
        self.unresolved.append(self.groups)
        return body

    def prepare(self, n: int) -> list[bytes]:
        """The first ``n`` bodies, built before the clock starts."""
        return [self.next() for _ in range(n)]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), in seconds; 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to the bench database (the sidecars' pools), when local."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            return [pid for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    except psycopg.Error:
        return []


async def run_cell(urls: list[str], pids: list[int], size: int, concurrency: int, duration: float,
                   database: str | None = None) -> Cell:
    cell = Cell(size, concurrency)
    workload = Workload(size, uuid.uuid4().hex[:8])
    # More than any run can send (2,000 requests/s or 20,000 alerts/s); the senders stop if it runs out.
    bodies = workload.prepare(int(duration * min(2000, 20000 / size)) + 100)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        queue = iter(bodies)

        async def sender(url: str) -> None:
            endpoint = f"{url}/webhooks/alertmanager"
            while time.perf_counter() < deadline:
                body = next(queue, None)
                if body is None:
                    raise SystemExit("the prepared bodies ran out before the cell's end: raise the budget")
                started = time.perf_counter()
                async with http.post(endpoint, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
                cell.latencies.append(time.perf_counter() - started)
                cell.requests += 1
                if 200 <= status < 300:
                    cell.alerts += size
                else:
                    cell.failures[status] = cell.failures.get(status, 0) + 1

        backends = await asyncio.to_thread(backend_pids, database) if database else []
        database_before = {pid: cpu_seconds(pid) for pid in backends}
        load_before, server_before, client_before = os.getloadavg()[0], sum(map(cpu_seconds, pids)), time.process_time()
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(sender(urls[i % len(urls)]) for i in range(concurrency)))
        cell.elapsed = time.perf_counter() - started
        cell.server_cpu = sum(map(cpu_seconds, pids)) - server_before
        cell.client_cpu = time.process_time() - client_before
        # Backends that closed meanwhile (pool overflow beyond 10 connections) are left out: a lower bound.
        after = {pid: cpu_seconds(pid) for pid in backends}
        cell.database_cpu = sum(after[pid] - database_before[pid] for pid in backends if after[pid])
        cell.load = (load_before, os.getloadavg()[0])
    return cell


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(admin_url: str) -> str:
    name = f"tocsin_bench_{uuid.uuid4().hex[:8]}"
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade(url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(make_url(url).database)))


async def wait_ready(url: str, server: subprocess.Popen, seconds: float = 30) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            if server.poll() is not None:
                raise SystemExit(f"the sidecar exited with {server.returncode}")
            try:
                async with http.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the sidecar did not become ready")


async def load(servers: dict[str, subprocess.Popen], sizes: list[int], levels: list[int],
               duration: float, database: str) -> list[Cell]:
    for base, server in servers.items():
        await wait_ready(base, server)
    urls, pids = list(servers), [server.pid for server in servers.values()]
    await run_cell(urls, pids, 1, 4, 2.0)  # warm-up: connections, caches
    cells = []
    for size in sizes:
        for concurrency in levels:
            cell = await run_cell(urls, pids, size, concurrency, duration, database)
            cells.append(cell)
            print(cell.row(), flush=True)
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default=os.environ.get("TOCSIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--sizes", default="1,20")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--servers", type=int, default=1, help="sidecar processes sharing the database")
    parser.add_argument("--write", action="store_true", help="write bench/results-webhooks.md")
    args = parser.parse_args()
    url = create_database(args.pg)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "tocsin.yml"
        config.write_text(CONFIG)
        env = {**os.environ, "TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "WARNING", "TOCSIN_SCHEDULER": "off",
               "PYTHONPATH": str(ROOT)}
        servers = {}
        for _ in range(args.servers):
            port = free_port()
            servers[f"http://127.0.0.1:{port}"] = subprocess.Popen(
                [sys.executable, "-m", "bot", "sidecar", "--port", str(port), "--config", str(config)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        try:
            cells = asyncio.run(load(servers, [int(s) for s in args.sizes.split(",")],
                                     [int(c) for c in args.concurrency.split(",")], args.duration, url))
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(timeout=20)
            drop_database(args.pg, url)
    report(cells, args)
    return 0


def report(cells: list[Cell], args: argparse.Namespace) -> None:
    header = ("| alerts/payload | concurrency | requests/s | alerts/s | p50 ms | p95 ms | p99 ms | mean ms | non-2xx "
              "| sidecar CPU ms/req | PostgreSQL CPU ms/req | client CPU ms/req | load avg |\n"
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    table = "\n".join([header, *(c.row() for c in cells)])
    print("\n" + table)
    if args.write:  # appended, so the notes written around earlier runs stay
        command = " ".join([".venv/bin/python bench/webhooks.py", *sys.argv[1:]])
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with (ROOT / "bench" / "results-webhooks.md").open("a") as out:
            out.write(f"\n### Run of {stamp}\n\n`{command}` ({os.cpu_count()} CPUs)\n\n{table}\n")


if __name__ == "__main__":
    raise SystemExit(main())
