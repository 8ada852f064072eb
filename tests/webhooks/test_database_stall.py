"""A database that stops answering (packets dropped, not refused): 503 within seconds, nothing applied late.

PostgreSQL is reached through ``tests.netproxy``, frozen the way a network that drops packets is:
connections stay open and nothing comes back. The sender's delivery must be refused in bounded time so
that its retry works; once the network is back, the refused delivery must not be applied on its own
(what the stalled transaction had sent reaches the server then), and the retry must be applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import yaml

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage import migrations
from tests.netproxy import NetProxy, proxy_to
from tests.operations.conftest import run
from tests.webhooks.support import AM, API_TOKENS, CONFIG, bearer, client_for, configure, fixture, sidecar_app
from tests.webhooks.test_sidecar_process import ROOT

TIMEOUT = 1.0  # the database timeout these tests configure (the default is 10 s)
BOUND = TIMEOUT + 3  # what a sender may wait for its 503, with room for a slow machine
FIRST = fixture("001_firing_DBPrimaryDown.json")
SECOND = fixture("005_firing_HighLatency.json")  # two alerts
OBSERVER = bearer(API_TOKENS["observer"])


@asynccontextmanager
async def app_on(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The sidecar app on ``url``, with a short database timeout."""
    settings = Settings(database_url=url, scheduler=False, database_timeout=TIMEOUT, database_connect_timeout=2)
    container = bootstrap.build(settings, TocsinConfig(), parts=bootstrap.SIDECAR)
    configure(container)
    try:
        async with client_for(sidecar_app(container), container) as http:
            yield http
    finally:
        await asyncio.wait_for(container.close(), 10)


@pytest.fixture
async def stalling(pg_url: str) -> AsyncIterator[tuple[NetProxy, httpx.AsyncClient]]:
    """A proxy in front of PostgreSQL, and the app reaching the database through it."""
    with proxy_to(pg_url) as proxy:
        async with app_on(proxy.url(pg_url)) as http:
            yield proxy, http
            proxy.thaw()


async def _timed(request) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await asyncio.wait_for(request, BOUND + 5)  # the test itself never hangs
    return response, time.monotonic() - started


async def _refused(http: httpx.AsyncClient, payload: dict) -> None:
    response, took = await _timed(http.post("/webhooks/alertmanager", json=payload, headers=AM))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "unavailable" and response.headers["retry-after"]
    assert took < BOUND


async def _stored(http: httpx.AsyncClient) -> tuple[int, list[int]]:
    """How many incidents there are, and each alert's delivery count, as the API tells them."""
    listed = (await http.get("/api/incidents", headers=OBSERVER)).json()
    alerts = (await http.get("/api/alerts", headers=OBSERVER)).json()["alerts"]
    return listed["total"], sorted(a["occurrence_count"] for a in alerts)


async def test_a_stalled_database_answers_503_in_seconds_and_only_the_retry_is_applied(stalling):
    proxy, http = stalling
    assert (await http.post("/webhooks/alertmanager", json=FIRST, headers=AM)).status_code == 200
    proxy.freeze()
    await _refused(http, SECOND)
    ready, took = await _timed(http.get("/readyz"))
    assert ready.status_code == 503 and took < BOUND
    assert "does not answer" in ready.json()["detail"]
    proxy.thaw()
    await asyncio.sleep(0.5)  # what waited in the network has reached the server
    assert await _stored(http) == (1, [1])  # the refused delivery was not applied after the recovery
    assert (await http.post("/webhooks/alertmanager", json=SECOND, headers=AM)).status_code == 200
    assert await _stored(http) == (2, [1, 1, 1])  # the retry, once
    assert (await http.get("/readyz")).status_code == 200


async def test_a_database_that_stalls_mid_transaction_applies_nothing_of_it(stalling):
    proxy, http = stalling
    proxy.freeze_on(b"INSERT INTO alert (")  # the incident is written, its alerts never reach the server
    await _refused(http, SECOND)
    proxy.thaw()
    await asyncio.sleep(0.5)
    assert await _stored(http) == (0, [])
    for payload in (SECOND, FIRST):  # the retry, then a new delivery: the pool holds no broken connection
        assert (await http.post("/webhooks/alertmanager", json=payload, headers=AM)).status_code == 200
    assert await _stored(http) == (2, [1, 1, 1])


async def test_a_database_that_never_answers_the_first_connection_gets_503(stalling):
    proxy, http = stalling
    proxy.freeze()  # nothing in the pool yet: the app has to connect
    await _refused(http, FIRST)
    ready, took = await _timed(http.get("/readyz"))
    assert ready.status_code == 503 and took < BOUND
    proxy.thaw()
    assert (await http.post("/webhooks/alertmanager", json=FIRST, headers=AM)).status_code == 200
    assert await _stored(http) == (1, [1])


async def test_a_locked_sqlite_database_answers_503_in_bounded_time(tmp_path):
    path = tmp_path / "tocsin.db"
    migrations.upgrade(f"sqlite:///{path}")
    async with app_on(f"sqlite:///{path}") as http:
        assert (await http.post("/webhooks/alertmanager", json=FIRST, headers=AM)).status_code == 200
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            await _refused(http, SECOND)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (await http.post("/webhooks/alertmanager", json=SECOND, headers=AM)).status_code == 200
        assert await _stored(http) == (2, [1, 1, 1])


@asynccontextmanager
async def sidecar(database_url: str, config) -> AsyncIterator[httpx.AsyncClient]:
    """A real ``tocsin sidecar`` process whose database timeouts come from its environment, once ready."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TOCSIN_DATABASE_URL": database_url, "TOCSIN_LOG_LEVEL": "WARNING",
           "TOCSIN_DATABASE_TIMEOUT": str(TIMEOUT), "TOCSIN_DATABASE_CONNECT_TIMEOUT": "2"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sidecar", "--port", str(port), "--config", str(config),
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=BOUND + 5) as http:
            for _ in range(150):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                assert process.returncode is None, "the sidecar exited"
                await asyncio.sleep(0.1)
            yield http
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)


async def test_the_sidecar_process_takes_its_database_timeouts_from_the_environment(pg_url, tmp_path):
    config = tmp_path / "tocsin.yml"
    config.write_text(yaml.safe_dump(CONFIG))
    with proxy_to(pg_url) as proxy:
        async with sidecar(proxy.url(pg_url), config) as http:
            proxy.freeze()
            await _refused(http, FIRST)
            ready, took = await _timed(http.get("/readyz"))
            assert ready.status_code == 503 and "does not answer" in ready.json()["detail"] and took < BOUND
            proxy.thaw()
            assert (await http.post("/webhooks/alertmanager", json=FIRST, headers=AM)).status_code == 200
            assert await _stored(http) == (1, [1])


@pytest.mark.parametrize(("variable", "value"), [("TOCSIN_DATABASE_TIMEOUT", "ten"), ("TOCSIN_DATABASE_TIMEOUT", "0"),
                                                 ("TOCSIN_DATABASE_CONNECT_TIMEOUT", "-5")])
def test_a_database_timeout_that_is_not_a_positive_number_is_refused_at_start(tmp_path, variable, value):
    result = run(["sidecar"], tmp_path, **{variable: value})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"tocsin: {variable} {value}: not a number of seconds; "
                                     "give a positive number, e.g. 10"), result.stderr
    assert not (tmp_path / "tocsin.db").exists()


def test_a_database_that_stalls_while_the_config_is_applied_stops_the_start_with_one_line(pg_url, tmp_path):
    config = tmp_path / "tocsin.yml"
    config.write_text(yaml.safe_dump(CONFIG))
    with proxy_to(pg_url) as proxy:
        proxy.freeze_on(b"pg_advisory_xact_lock")  # migrated, then nothing answers
        url = proxy.url(pg_url)
        result = run(["sidecar", "--config", str(config)], tmp_path, TOCSIN_DATABASE_URL=url,
                     TOCSIN_DATABASE_TIMEOUT=str(TIMEOUT))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after Alembic's INFO lines
    assert last == f"tocsin: cannot use the database at {url}: the database did not answer within 1 s"


@pytest.mark.parametrize("command", [["migrate"], ["sidecar"]])
def test_a_database_that_never_answers_stops_the_migration_within_the_connect_timeout(pg_url, tmp_path, command):
    with proxy_to(pg_url) as proxy:
        proxy.freeze()  # connections are accepted and nothing ever comes back
        url = proxy.url(pg_url)
        started = time.monotonic()
        try:
            result = run(command, tmp_path, TOCSIN_DATABASE_URL=url, TOCSIN_DATABASE_CONNECT_TIMEOUT="2")
        except subprocess.TimeoutExpired:
            pytest.fail(f"tocsin {command[0]} still waited for the database after 60 s")
        elapsed = time.monotonic() - started
        proxy.thaw()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"tocsin: cannot use the database at {url}: ")
    assert elapsed < 30, elapsed  # the connect timeout (2 s), not the 60 s guard, ended it
