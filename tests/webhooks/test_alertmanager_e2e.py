"""End to end with the real Alertmanager binary: it notifies our sidecar (real uvicorn) with a bearer token.

Skipped when ``prometheus-alertmanager`` is not installed, unless TOCSIN_REQUIRE_ALERTMANAGER=1 (CI),
which makes that a failure. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import bootstrap
from bot.container import Container
from bot.settings import Settings
from storage import migrations
from tests.webhooks.support import AM_TOKEN, API_TOKENS, configure, serving, sidecar_app

pytestmark = pytest.mark.e2e
BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
READ = {"Authorization": f"Bearer {API_TOKENS['observer']}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(webhook_url: str) -> str:
    return f"""
route:
  receiver: tocsin
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: "{webhook_url}"
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: "{AM_TOKEN}"}}
"""


@pytest.fixture
def alertmanager_binary() -> str:
    if BINARY is None:
        if os.environ.get("TOCSIN_REQUIRE_ALERTMANAGER") == "1":
            pytest.fail("TOCSIN_REQUIRE_ALERTMANAGER=1 but prometheus-alertmanager is not installed")
        pytest.skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    return BINARY


@pytest.fixture
async def sidecar(tmp_path: Path, wall_clock_container) -> AsyncIterator[tuple[str, Container]]:
    container = wall_clock_container
    async with serving(sidecar_app(container), container) as url:
        yield url, container


@pytest.fixture
async def wall_clock_container(tmp_path: Path) -> AsyncIterator[Container]:
    """A container on the wall clock (Alertmanager's times are real), on a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    migrations.upgrade(url)
    container = bootstrap.build(Settings(database_url=url, scheduler=False), parts=bootstrap.SIDECAR)
    configure(container)
    from bot.config_file import apply

    await apply(container.db, container.config, container.clock.now())
    yield container
    await container.close()


@pytest.fixture
async def alertmanager(alertmanager_binary: str, sidecar, tmp_path: Path) -> AsyncIterator[str]:
    url, _ = sidecar
    (tmp_path / "am.yml").write_text(_config(f"{url}/webhooks/alertmanager"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "am.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        alertmanager_binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={base}", "--cluster.listen-address=",
        stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    if (await http.get(f"{base}/-/ready", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, (tmp_path / "am.log").read_text()
                await asyncio.sleep(0.1)
            else:
                pytest.fail("Alertmanager did not become ready in 10 s:\n" + (tmp_path / "am.log").read_text())
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _alert(instance: str, starts: str, ends: str | None = None) -> dict[str, Any]:
    alert = {"labels": {"alertname": "HighLatency", "service": "checkout", "instance": instance,
                        "severity": "critical"},
             "annotations": {"summary": f"p99 latency > 2s on {instance}"}, "startsAt": starts}
    if ends:
        alert["endsAt"] = ends
    return alert


async def _until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 20) -> Any:
    for _ in range(int(seconds / 0.2)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


async def test_alertmanager_fires_partially_resolves_and_resolves_an_incident(alertmanager, sidecar):
    url, _container = sidecar
    starts = _now()
    async with httpx.AsyncClient(timeout=5) as http:
        async def incident(status: str, firing: int, resolved: int):
            body = (await http.get(f"{url}/api/incidents", headers=READ)).json()
            if body["total"] != 1:
                return None
            found = body["incidents"][0]
            ok = (found["status"], found["alerts"]["firing"], found["alerts"]["resolved"]) == (status, firing, resolved)
            return found if ok else None

        fire = [_alert("api1:8080", starts), _alert("api2:8080", starts)]
        assert (await http.post(f"{alertmanager}/api/v2/alerts", json=fire)).status_code == 200
        opened = await _until(lambda: incident("open", 2, 0), "the incident with two firing alerts")
        assert (opened["severity"], opened["team"], opened["title"]) == ("critical", "payments", "HighLatency on checkout")

        partial = [_alert("api1:8080", starts, _now())]
        assert (await http.post(f"{alertmanager}/api/v2/alerts", json=partial)).status_code == 200
        await _until(lambda: incident("open", 1, 1), "one alert resolved, one still firing")

        rest = [_alert("api2:8080", starts, _now())]
        assert (await http.post(f"{alertmanager}/api/v2/alerts", json=rest)).status_code == 200
        done = await _until(lambda: incident("resolved", 0, 2), "the incident resolved by Alertmanager")
        detail = (await http.get(f"{url}/api/incidents/{done['number']}", headers=READ)).json()
        assert [e["kind"] for e in detail["timeline"]] == ["declared", "alert_resolved", "resolved"]
        assert {e["actor"] for e in detail["timeline"]} == {"alertmanager"}
