"""An incident's page follows its incident over a real HTTP connection (uvicorn): its event stream
(``/incidents/N/events``) names the incident whenever it changes, on any surface and in any process, and
``/incidents/N/live`` gives the parts that changed; both are read-gated as the page is."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot import bootstrap
from tests.console.conftest import csrf_of, press
from tests.console.test_events import SWEEP, signed_in, stream_of


@pytest.fixture
def build_options() -> dict[str, Any]:
    return {"console_sweep": SWEEP}


def _version(page: str) -> str:
    return re.search(r'<article [^>]*data-version="([^"]+)"', page).group(1)


def _ids(fragment: str) -> list[str]:
    """The ids of the fragment's top-level parts (what the page's script swaps in)."""
    return re.findall(r'<(?:article|section) [^>]*?id="([^"]+)"', fragment)


async def page_stream(c: httpx.AsyncClient, number: int):
    """The open incident page's event stream, as its script opens it (with the version the page shows)."""
    page = (await c.get(f"/incidents/{number}")).text
    assert f'data-events="/incidents/{number}/events" data-live="/incidents/{number}/live"' in page
    assert '<script src="/console/incident.js"></script>' in page
    return stream_of(c, f"/incidents/{number}/events?version={_version(page)}")


async def test_the_page_is_told_of_each_change_of_its_incident_and_reads_the_changed_parts(
        container, base_url, people):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await container.bus.drain()
    async with signed_in(container, base_url, "team_lead@example.com") as lead, await page_stream(lead, 1) as page:
        await container.incidents.declare(people.slack("responder"), "Queue stuck", team="payments")
        await container.incidents.acknowledge(1, people.slack("responder"))
        assert await page.next() == ("incident", "1")  # #2's change is not this page's
        live = await lead.get("/incidents/1/live")
        assert live.status_code == 200 and live.headers["cache-control"] == "no-store"
        assert _ids(live.text) == ["incident-1", "timeline", "alerts", "escalation", "notes"]
        assert "<dd>acknowledged</dd>" in live.text and "<td>acknowledged</td>" in live.text
        assert 'name="back" value="page"' in live.text and csrf_of(live.text) == csrf_of((await lead.get("/")).text)
        assert "<header>" not in live.text and 'action="/incidents/1/command"' not in live.text

        await container.incidents.add_note(1, people.slack("responder"), "replica lagging")  # the same instant
        assert await page.next() == ("incident", "1")
        notes = re.search(r'<section id="notes">.*?</section>', (await lead.get("/incidents/1/live")).text).group(0)
        assert "replica lagging" in notes


async def test_a_press_in_another_browser_reaches_the_open_page(container, base_url, people):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await container.bus.drain()
    async with signed_in(container, base_url, "team_lead@example.com") as lead, \
            signed_in(container, base_url, "responder@example.com") as responder, await page_stream(lead, 1) as page:
        await press(responder, "/incidents/1/snooze", {"csrf": csrf_of((await responder.get("/")).text)})
        assert await page.next() == ("incident", "1")
        assert "Snoozed until" in (await lead.get("/incidents/1/live")).text


async def test_a_page_that_loaded_before_a_change_is_told_at_once(container, base_url, people, clock):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    async with signed_in(container, base_url, "team_lead@example.com") as lead:
        stale = _version((await lead.get("/incidents/1")).text)
        clock.advance(seconds=1)
        await container.incidents.acknowledge(1, people.slack("responder"))
        await container.bus.drain()
        async with stream_of(lead, f"/incidents/1/events?version={stale}") as page:
            assert await page.next() == ("incident", "1")


async def test_a_change_in_another_process_reaches_the_page_within_the_catch_up_sweep(
        container, settings, base_url, people):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await container.bus.drain()
    sweepers = [c for s in container.surfaces if s.name == "console" for c in s.components]
    other = bootstrap.build(settings)  # another process on the same database: its bus is not ours
    async with signed_in(container, base_url, "team_lead@example.com") as lead, await page_stream(lead, 1) as page:
        for sweeper in sweepers:
            await sweeper.start()
        try:
            await other.incidents.acknowledge(1, people.slack("responder"))
            assert await page.next(within=SWEEP + 2) == ("incident", "1")
        finally:
            for sweeper in sweepers:
                await sweeper.stop()
            await other.close()


async def test_an_incident_the_person_may_not_read_sends_nothing(container, base_url, people):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    async with signed_in(container, base_url, "outsider@example.com") as outsider:
        for path in ("/incidents/1/events", "/incidents/1/live", "/incidents/9/events", "/incidents/9/live"):
            response = await outsider.get(path)
            assert response.status_code == 404 and "Disk full" not in response.text, path
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        for path in ("/incidents/1/events", "/incidents/1/live"):
            response = await anonymous.get(path)
            assert (response.status_code, urlsplit(response.headers["location"]).path) == (303, "/signin")
