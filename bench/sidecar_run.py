"""A real sidecar process (``python -m bot sidecar``) on a fresh database, with the tests' config, for the
fuzz and Schemathesis runs; and what its /metrics says it answered."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.webhooks import create_database, drop_database, free_port  # noqa: E402
from storage import migrations  # noqa: E402
from tests.webhooks.support import CONFIG  # noqa: E402

PEOPLE = [{"name": "Responder", "email": "responder@example.com", "teams": {"payments": "responder"}},
          {"name": "Outsider", "email": "outsider@example.com", "teams": {"platform": "team_lead"}}]
SAMPLE = re.compile(r'^tocsin_http_request_duration_seconds_count\{(.*)\} (\S+)$', re.M)


@contextlib.contextmanager
def database(postgres: str | None) -> Iterator[str]:
    """A migrated, empty database: a throwaway one on the PostgreSQL server ``postgres``, else SQLite."""
    if postgres:
        url = create_database(postgres)
        try:
            yield url
        finally:
            drop_database(postgres, url)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/tocsin.db"
        migrations.upgrade(url)
        yield url


def _wait_ready(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    for _ in range(int(seconds * 10)):
        if server.poll() is not None:
            raise SystemExit(f"the sidecar exited with {server.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit("the sidecar did not become ready")


@contextlib.contextmanager
def sidecar(url: str) -> Iterator[str]:
    """The sidecar serving on a free loopback port with the tests' teams, people, integrations and tokens."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "tocsin.yml"
        config.write_text(yaml.safe_dump({**CONFIG, "people": PEOPLE}))
        port = free_port()
        env = {**os.environ, "TOCSIN_DATABASE_URL": url, "TOCSIN_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "bot", "sidecar", "--port", str(port), "--config",
                                   str(config)], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, server)
            yield base
        finally:
            server.terminate()
            server.wait(20)


def answered(base: str) -> dict[str, int]:
    """Requests the sidecar answered on its API and webhook routes, by status, from its own /metrics."""
    counts: dict[str, int] = {}
    for labels, value in SAMPLE.findall(httpx.get(f"{base}/metrics", timeout=10).text):
        status = re.search(r'status="(\d+)"', labels)
        if status:
            counts[status.group(1)] = counts.get(status.group(1), 0) + int(float(value))
    return dict(sorted(counts.items()))


def server_errors(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if status.startswith("5"))
