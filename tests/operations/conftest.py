"""Helpers for running ``tocsin`` as a user does: real processes, real ports, real databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import throwaway_pg_database

TOCSIN = [sys.executable, "-m", "bot"]


def env(**extra: str) -> dict[str, str]:
    """The caller's environment without Tocsin's, Slack's or Telegram's variables, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "TOCSIN_"))}
    return {**clean, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TOCSIN, *args], cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=60)


class Serving:
    """A ``tocsin serve`` process; ``stop()`` returns everything it printed."""

    def __init__(self, args: list[str], cwd: Path, **extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([*TOCSIN, *args, "--port", str(self.port)], cwd=cwd, env=env(**extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.stop()
            assert time.monotonic() < deadline, f"not up in {timeout} s: {self.stop()}"
            time.sleep(0.2)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.communicate(timeout=20)[0]


@pytest.fixture
def serving() -> Iterator[list[Serving]]:
    """Start processes with ``serving.append(Serving(...))``; every one is stopped afterwards."""
    started: list[Serving] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A PostgreSQL database with nothing in it (not migrated); dropped afterwards."""
    with throwaway_pg_database("tocsin_ops") as url:
        yield url
