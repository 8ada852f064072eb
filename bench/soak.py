"""Memory soak: the resident memory of ``tocsin serve`` while it answers a long stream of bad requests.

``tocsin serve`` runs as its own process on a fresh SQLite database, with Telegram on in webhook mode
against the fake Telegram API of the tests (all on 127.0.0.1). This process sends it N requests that
must all be refused, from C concurrent senders, in rotation:

- bad JSON with a valid token, a body that is JSON but not an Alertmanager payload;
- a wrong token each time (a new one per request), basic auth with a wrong password, an HMAC that fails;
- unknown routes (a new path per request), a wrong method, an unknown incident number, bad query values;
- a body of twice the size limit (413), with and without Content-Length;
- Telegram webhook updates with a wrong secret, and with the right secret from a new stranger's chat
  (``--strangers``), whom the bot answers "you are not linked".

The server's RSS (VmRSS of /proc/PID/status) is sampled every second. With ``--trace`` the server runs
under tracemalloc, and the report ends with what grew between the warm-up and the end, by traceback.
The run is bounded by ``--requests`` and ``--max-seconds`` and stops by itself.

    .venv/bin/python bench/soak.py [--requests 80000] [--concurrency 16] [--strangers 0] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

AM_TOKEN = "soak-alertmanager-token-0123456789"
GENERIC_TOKEN, GENERIC_HMAC = "soak-generic-token-0123456789", "soak-generic-hmac-0123456789"
CONFIG = f"""
teams: [{{name: platform, telegram_chat: -100200}}]
integrations:
  - {{name: alertmanager, type: alertmanager, token: {AM_TOKEN}, team: platform}}
  - {{name: grafana, type: grafana, basic_auth: {{username: grafana, password: right-password}}, team: platform}}
  - {{name: ci, type: generic, token: {GENERIC_TOKEN}, hmac_secret: {GENERIC_HMAC}, team: platform}}
api_tokens:
  - {{name: soak, token: soak-api-token, role: observer}}
"""
LIMIT = 64 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Requests:
    """The rotation of bad requests; each call to ``next`` gives (method, path, headers, body)."""

    def __init__(self, secret: str, strangers: int, total: int) -> None:
        self.secret, self.strangers = secret, strangers
        self.every = max(1, total // strangers) if strangers else 0
        self.counter = itertools.count()
        self.kinds = [self.bad_json, self.not_a_payload, self.wrong_token, self.wrong_basic, self.bad_hmac,
                      self.unknown_route, self.wrong_method, self.unknown_incident, self.bad_query,
                      self.huge_body, self.huge_chunked, self.telegram_wrong_secret]
        self.huge = b'{"alerts": [' + b"0," * LIMIT + b"0]}"

    def next(self, i: int) -> tuple[str, tuple[str, str, dict[str, str], bytes | None]]:
        """The kind's name and its request."""
        kind = self.telegram_stranger if self.every and i % self.every == 0 else self.kinds[i % len(self.kinds)]
        return kind.__name__, kind(i)

    def bad_json(self, i):
        return "POST", "/webhooks/alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}, b'{"alerts": [{'

    def not_a_payload(self, i):
        return "POST", "/webhooks/alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}, b'{"alerts": 7}'

    def wrong_token(self, i):
        return "POST", "/webhooks/alertmanager", {"Authorization": f"Bearer wrong-{uuid.uuid4().hex}"}, b"{}"

    def wrong_basic(self, i):
        auth = base64.b64encode(f"grafana:wrong-{i}".encode()).decode()
        return "POST", "/webhooks/alertmanager", {"Authorization": f"Basic {auth}"}, b"{}"

    def bad_hmac(self, i):
        return "POST", "/webhooks/generic", {"X-Tocsin-Signature": f"sha256={uuid.uuid4().hex * 2}"}, b"{}"

    def unknown_route(self, i):
        return "GET", f"/no/such/route/{uuid.uuid4().hex}", {}, None

    def wrong_method(self, i):
        return "DELETE", "/webhooks/alertmanager", {}, None

    def unknown_incident(self, i):
        return "GET", f"/api/incidents/{1_000_000 + i}", {"Authorization": "Bearer soak-api-token"}, None

    def bad_query(self, i):
        return "GET", f"/api/incidents?limit=x{i}&status=nope-{i}", {"Authorization": "Bearer soak-api-token"}, None

    def huge_body(self, i):
        return "POST", "/webhooks/alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}, self.huge

    def huge_chunked(self, i):
        async def chunks():
            for _ in range(4):
                yield self.huge[: LIMIT]
        return "POST", "/webhooks/alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}, chunks()

    def telegram_wrong_secret(self, i):
        return "POST", "/telegram/webhook", {"X-Telegram-Bot-Api-Secret-Token": f"wrong-{i}"}, b"{}"

    def telegram_stranger(self, i):
        chat = 10_000_000 + i
        update = {"update_id": 500_000 + i, "message": {
            "message_id": 1, "date": int(time.time()), "text": "/incident list",
            "entities": [{"type": "bot_command", "offset": 0, "length": 9}],
            "chat": {"id": chat, "type": "private", "first_name": "Stranger"},
            "from": {"id": chat, "is_bot": False, "first_name": "Stranger"}}}
        return "POST", "/telegram/webhook", {"X-Telegram-Bot-Api-Secret-Token": self.secret,
                                             "Content-Type": "application/json"}, json.dumps(update).encode()


async def wait_ready(base: str, server: subprocess.Popen, seconds: float = 300) -> None:
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"serve exited with {server.returncode}")
            try:
                async with http.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("serve did not become ready")


async def soak(base: str, pid: int, args: argparse.Namespace, secret: str) -> dict:
    requests = Requests(secret, args.strangers, args.requests)
    statuses: Counter[tuple[str, int | str]] = Counter()
    samples: list[tuple[float, int, int]] = []
    sent = itertools.count()
    done = 0
    started = time.monotonic()
    stop_at = started + args.max_seconds

    async def sender(http: aiohttp.ClientSession) -> None:
        nonlocal done
        while (i := next(sent)) < args.requests and time.monotonic() < stop_at:
            kind, (method, path, headers, body) = requests.next(i)
            if body is not None:
                headers = {"Content-Type": "application/json", **headers}
            try:
                async with http.request(method, base + path, headers=headers, data=body) as response:
                    await response.read()
                    statuses[kind, response.status] += 1
            except aiohttp.ClientError as exc:
                statuses[kind, type(exc).__name__] += 1
            done += 1

    async def sampler() -> None:
        while True:
            samples.append((time.monotonic() - started, done, rss_kib(pid)))
            await asyncio.sleep(1)

    sampling = asyncio.create_task(sampler())
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(sender(http) for _ in range(args.concurrency)))
    elapsed = time.monotonic() - started
    await asyncio.sleep(args.settle)
    sampling.cancel()
    samples.append((time.monotonic() - started, done, rss_kib(pid)))
    return {"statuses": statuses, "samples": samples, "elapsed": elapsed, "done": done}


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-soak-"))
    (workdir / "tocsin.yml").write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeTelegram() as telegram:
        server = start_server(workdir, port, telegram, args.trace)
        trace = workdir / "trace.txt"
        try:
            await wait_ready(base, server)
            await warm_up(base, args)
            if args.trace:
                server.send_signal(signal.SIGUSR1)
                await asyncio.sleep(2)
            result = await soak(base, server.pid, args, "soak-telegram-secret")
            if args.trace:
                server.send_signal(signal.SIGUSR1)
                await asyncio.sleep(5)
            result["replies"] = len(telegram.calls_to("sendMessage"))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    report(result, args)
    if args.trace:
        print("\n" + trace.read_text())
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def start_server(workdir: Path, port: int, telegram: FakeTelegram, trace: bool) -> subprocess.Popen:
    """``tocsin serve`` on a fresh SQLite database, Telegram in webhook mode against the fake."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "SLACK_", "TELEGRAM_"))},
           "TOCSIN_DATABASE_URL": f"sqlite:///{workdir / 'tocsin.db'}", "TOCSIN_LOG_LEVEL": "ERROR",
           "TOCSIN_MAX_BODY_BYTES": str(LIMIT), "TELEGRAM_BOT_TOKEN": telegram.token,
           "TELEGRAM_API_URL": telegram.base_url, "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
           "TELEGRAM_WEBHOOK_SECRET": "soak-telegram-secret", "NO_PROXY": "127.0.0.1,localhost",
           "SOAK_TRACE_FILE": str(workdir / "trace.txt")}
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--config", str(workdir / "tocsin.yml")]
    if trace:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-traced", *command[3:]]
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def warm_up(base: str, args: argparse.Namespace) -> None:
    """A few hundred requests first, so that the baseline includes what any first request loads."""
    warm = argparse.Namespace(**{**vars(args), "requests": 600, "strangers": 0, "settle": 0})
    await soak(base, os.getpid(), warm, "")


def report(result: dict, args: argparse.Namespace) -> None:
    samples = result["samples"]
    start, peak, end = samples[0][2], max(s[2] for s in samples), samples[-1][2]
    print(f"\n{result['done']} requests in {result['elapsed']:.0f} s "
          f"({result['done'] / result['elapsed']:.0f}/s, concurrency {args.concurrency}, "
          f"{args.strangers} stranger updates)")
    by_kind: dict[str, list[str]] = {}
    for (kind, status), count in sorted(result["statuses"].items(), key=str):
        by_kind.setdefault(kind, []).append(f"{status} x{count}")
    print(f"messages the bot sent to Telegram: {result['replies']}")
    print("answers:", "; ".join(f"{kind} {', '.join(answers)}" for kind, answers in by_kind.items()))
    print(f"RSS MiB: start {start / 1024:.1f}, peak {peak / 1024:.1f}, end {end / 1024:.1f} "
          f"(after {args.settle:.0f} s idle)\n")
    print("| s | requests | RSS MiB |\n|---:|---:|---:|")
    step = max(1, len(samples) // 12)
    for at, done, rss in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        print(f"| {at:.0f} | {done:,} | {rss / 1024:.1f} |")


def serve_traced(argv: list[str]) -> int:
    """Run ``tocsin`` under tracemalloc; each SIGUSR1 after the first writes what grew since the first."""
    import tracemalloc

    tracemalloc.start(8)
    first: list[tracemalloc.Snapshot] = []

    def dump(_signum, _frame) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        if not first:
            first.append(snapshot)
            return
        stats = snapshot.compare_to(first[0], "traceback")
        with open(os.environ["SOAK_TRACE_FILE"], "w") as out:
            total = sum(s.size_diff for s in stats)
            out.write(f"grown since the baseline: {total / 1024:.0f} KiB in {len(stats)} tracebacks\n\n")
            for stat in stats[:15]:
                out.write(f"{stat.size_diff / 1024:+.1f} KiB, {stat.count_diff:+d} blocks\n")
                out.write("\n".join(f"    {line}" for line in stat.traceback.format()) + "\n\n")

    signal.signal(signal.SIGUSR1, dump)
    from bot.cli import main

    return main(argv)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-traced":
        return serve_traced(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=80_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--strangers", type=int, default=0, help="Telegram updates from new chats among them")
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--settle", type=float, default=10, help="idle seconds before the last sample")
    parser.add_argument("--trace", action="store_true", help="run serve under tracemalloc (slower)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
