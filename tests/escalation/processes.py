"""Helpers to run real ``tocsin serve`` processes against one PostgreSQL database and a local webhook sink."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]


def config_file(path: Path, steps: list[str], leads: int = 1) -> Path:
    """A config: team payments with ``leads`` team leads and policy "fast" paging them by webhook."""
    people = "\n".join(f"  - {{name: Lead {i}, email: lead{i}@example.com, teams: {{payments: team_lead}}}}"
                       for i in range(leads))
    step_lines = "\n".join(f"      - {{after: {s}, notify: [\"role:team_lead\"], channels: [webhook]}}" for s in steps)
    path.write_text(f"""teams:
  - {{name: payments, slack_channel: CPAY, escalation_policy: fast}}
people:
{people}
escalation_policies:
  - name: fast
    steps:
{step_lines}
""")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """The SMS gateway stand-in: records each POST's Idempotency-Key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("idempotency-key", ""))
        await request.read()
        return web.Response(text="ok")

    async def __aenter__(self) -> Sink:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class Serve:
    """One ``tocsin serve`` subprocess."""

    def __init__(self, database_url: str, config: Path, sink: Sink, log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "TOCSIN_DATABASE_URL": database_url, "TOCSIN_CONFIG": str(config),
                    "TOCSIN_NOTIFY_WEBHOOK_URL": sink.url, "TOCSIN_PORT": str(self.port),
                    "TOCSIN_LOG_LEVEL": "WARNING", "NO_PROXY": "127.0.0.1,localhost"}
        for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "SMTP_HOST"):
            self.env.pop(name, None)
        self.log = log
        self.process: subprocess.Popen | None = None

    def spawn(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    async def start(self, within: float = 20.0) -> None:
        """Start the process and wait until it answers /healthz."""
        self.spawn()
        deadline = asyncio.get_running_loop().time() + within
        async with httpx.AsyncClient() as client:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "tocsin serve did not start"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid
