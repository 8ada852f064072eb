"""Silences at the source (issue 16, item 1) against the real Alertmanager binary: the shared grammar's
``/incident silence`` (Slack, Telegram and the shell all run it) previews, creates and expires a silence.

A fake clock set to the wall clock: Alertmanager refuses a silence that ends in the past. Skipped without
``prometheus-alertmanager`` unless TOCSIN_REQUIRE_ALERTMANAGER=1 (see test_alertmanager_e2e).
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.commands.execute import run_text
from bot.config_file import apply
from bot.container import Container
from storage.clock import FakeClock
from tests.webhooks.support import CONFIG, configure, serving, sidecar_app
from tests.webhooks.test_alertmanager_e2e import (  # alertmanager_binary: the fixture that skips or fails
    READ,
    _alert,
    _config,
    _free_port,
    _now,
    _until,
    alertmanager_binary,  # noqa: F401
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def silences_config(url: str) -> dict:
    """The test config file, its first Alertmanager integration silencing in ``url`` (as a tocsin.yml holds it)."""
    integrations = [dict(i) for i in CONFIG["integrations"]]
    integrations[0]["alertmanager_url"] = url
    teams = [{"name": "payments", "slack_channel": "CPAYMENTS", "telegram_chat": -100200},
             {"name": "platform", "slack_channel": "CPLATFORM"}]
    return {**CONFIG, "integrations": integrations, "teams": teams}  # the chats of the ``people`` fixture


def with_silences(container: Container, url: str) -> None:
    configure(container, **silences_config(url))


@pytest.fixture
async def stack(alertmanager_binary: str, container: Container, people, tmp_path: Path  # noqa: F811
                ) -> AsyncIterator[tuple[str, str]]:
    """(sidecar URL, Alertmanager URL): Alertmanager notifies the sidecar, Tocsin silences in it."""
    async with serving(sidecar_app(container), container) as url:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with_silences(container, base)
        await apply(container.db, container.config, container.clock.now())
        (tmp_path / "am.yml").write_text(_config(f"{url}/webhooks/alertmanager"))
        log = (tmp_path / "am.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            alertmanager_binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={base}", "--cluster.listen-address=",
            stdout=log, stderr=subprocess.STDOUT)
        try:
            async with httpx.AsyncClient() as http:
                async def ready() -> bool:
                    try:
                        return (await http.get(f"{base}/-/ready", timeout=1)).status_code == 200
                    except httpx.TransportError:
                        return False
                await _until(ready, "Alertmanager to be ready", 10)
            yield url, base
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
            log.close()


async def _open_incident(http: httpx.AsyncClient, url: str, am: str) -> dict:
    starts = _now()
    fire = [_alert("api1:8080", starts), _alert("api2:8080", starts)]
    assert (await http.post(f"{am}/api/v2/alerts", json=fire)).status_code == 200

    async def opened():
        body = (await http.get(f"{url}/api/incidents", headers=READ)).json()
        found = body["incidents"][0] if body["total"] == 1 else None
        return found if found and found["alerts"]["firing"] == 2 else None

    return await _until(opened, "the incident with two firing alerts")


async def test_silence_previews_creates_holds_back_notifications_and_expires(stack, container, people, clock):
    url, am = stack
    responder = people.slack("responder")
    async with httpx.AsyncClient(timeout=5) as http:
        incident = await _open_incident(http, url, am)
        n = incident["number"]

        preview = await run_text(container, responder, f"silence {n} 4h deploy in progress")
        assert not preview.error, preview.text
        assert 'matchers alertname="HighLatency", service="checkout", severity="critical"' in preview.text
        assert "2 firing alerts match now" in preview.text
        assert f"/incident silence {n} 4h deploy in progress confirm" in preview.text
        assert (await http.get(f"{am}/api/v2/silences")).json() == []  # a preview creates nothing

        refused = await run_text(container, people.slack("stakeholder"), f"silence {n} 4h confirm")
        assert refused.error and "needs responder or above" in refused.text, refused.text
        assert (await http.get(f"{am}/api/v2/silences")).json() == []

        done = await run_text(container, responder, f"silence {n} 4h deploy in progress confirm")
        assert not done.error, done.text
        until = clock.now() + timedelta(hours=4)
        assert f"silenced until {until:%Y-%m-%d %H:%M} UTC by Responder" in done.text
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "active"
        assert silence["createdBy"] == "Responder <responder@example.com>"
        assert "deploy in progress" in silence["comment"]
        assert abs(datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) - until) < timedelta(seconds=1)
        assert sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]) == [
            ("alertname", "HighLatency", True, False), ("service", "checkout", True, False),
            ("severity", "critical", True, False)]

        # the next notification for those alerts does not arrive: a third instance fires, silenced
        third = [_alert("api3:8080", _now())]
        assert (await http.post(f"{am}/api/v2/alerts", json=third)).status_code == 200

        async def silenced_in_alertmanager():
            alerts = (await http.get(f"{am}/api/v2/alerts")).json()
            return [a for a in alerts if a["labels"]["instance"] == "api3:8080"
                    and a["status"]["state"] == "suppressed"]

        await _until(silenced_in_alertmanager, "Alertmanager to hold back the third alert")
        await asyncio.sleep(4)  # two group intervals: a notification would have arrived by now
        body = (await http.get(f"{url}/api/incidents", headers=READ)).json()
        assert (body["total"], body["incidents"][0]["alerts"]["firing"]) == (1, 2)

        expired = await run_text(container, responder, f"unsilence {n}")
        assert not expired.error, expired.text
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "expired"
        again = await run_text(container, responder, f"unsilence {n}")
        assert again.error and "no silence" in again.text

        detail = (await http.get(f"{url}/api/incidents/{n}", headers=READ)).json()
        kinds = [e["kind"] for e in detail["timeline"]]
        assert kinds.count("silenced") == 1 and kinds.count("unsilenced") == 1
        [event] = [e for e in detail["timeline"] if e["kind"] == "silenced"]
        assert event["actor"] == "Responder" and "silenced until" in event["text"]

        # item 5: resolved by hand while its two alerts still fire, it says what happens next
        resolved = await run_text(container, responder, f"resolve {n} fixed the pool")
        assert not resolved.error, resolved.text
        assert (f"#{n} resolved by Responder while 2 alerts still fire: the next firing notification opens a new "
                f"incident; to hold them back: /incident silence {n} 4h") in resolved.text
        detail = (await http.get(f"{url}/api/incidents/{n}", headers=READ)).json()
        assert detail["timeline"][-1]["text"] == ("fixed the pool (while 2 alerts still fire: the next firing "
                                                  "notification opens a new incident)")


async def test_an_unreachable_alertmanager_is_a_clear_error_counted_on_metrics(stack, container, people):
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        incident = await _open_incident(http, url, am)
        with_silences(container, f"http://127.0.0.1:{_free_port()}")  # nobody listens there
        reply = await run_text(container, people.slack("responder"), f"silence {incident['number']} 1h confirm")
        assert reply.error and "could not be reached" in reply.text and "nothing was changed" in reply.text
        metrics = (await http.get(f"{url}/metrics")).text
        assert "tocsin_silence_failures_total 1.0" in metrics
        detail = (await http.get(f"{url}/api/incidents/{incident['number']}", headers=READ)).json()
        assert "silenced" not in [e["kind"] for e in detail["timeline"]]
