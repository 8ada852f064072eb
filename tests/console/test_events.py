"""Live cards over a real HTTP connection (uvicorn): the event stream sends a card's HTML whenever the
incident changes, in this process at once, in another process within the catch-up sweep."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot import bootstrap
from bot.console import signin
from bot.container import Container
from tests.console.conftest import csrf_of, follow, press

SWEEP = 0.2


@pytest.fixture
def build_options() -> dict[str, Any]:
    return {"console_sweep": SWEEP}


class Events:
    """An open event stream of one signed-in browser."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self.lines = lines

    async def card(self, within: float = 2.0) -> str:
        """The next card sent, within ``within`` seconds."""
        event, data = await self.next(within)
        assert event == "card"
        return data

    async def next(self, within: float = 2.0) -> tuple[str, str]:
        """The next event sent (its name and data), within ``within`` seconds."""
        async def read() -> tuple[str, str]:
            event, data = None, []
            async for line in self.lines:
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event:
                    return event, "\n".join(data)
            raise AssertionError("the stream ended")
        return await asyncio.wait_for(read(), within)


@contextlib.asynccontextmanager
async def signed_in(container: Container, base_url: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
        await follow(c, await signin.login_link(container, email))
        yield c


@contextlib.asynccontextmanager
async def stream_of(c: httpx.AsyncClient, path: str = "/events") -> AsyncIterator[Events]:
    """The event stream at ``path`` (the board's; an incident page's is ``/incidents/N/events``), open."""
    async with c.stream("GET", path) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 2) == ": open"  # subscribed: changes from now on arrive
        yield Events(lines)


def _number(card: str) -> int:
    return int(re.search(r'id="incident-(\d+)"', card).group(1))


async def test_a_change_here_reaches_every_open_board_at_once(container, base_url, people):
    async with signed_in(container, base_url, "responder@example.com") as responder, \
            signed_in(container, base_url, "team_lead@example.com") as lead, stream_of(lead) as board:
        await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
        card = await board.card()
        assert _number(card) == 1 and "Disk full" in card and ">Acknowledge</button>" in card
        assert csrf_of(card) == csrf_of((await lead.get("/")).text)  # the stream's forms are the lead's own

        pressed = await press(responder, "/incidents/1/ack", {"csrf": csrf_of((await responder.get("/")).text)})
        assert pressed.status_code == 200
        card = await board.card()
        assert "Acknowledged by Responder at" in card and ">Acknowledge</button>" not in card

        await container.incidents.resolve(1, people.slack("responder"))
        assert 'class="card closed' in await board.card()  # the script takes a closed card off the board


async def test_a_board_gets_only_the_cards_its_person_may_read(container, base_url, people):
    async with signed_in(container, base_url, "outsider@example.com") as outsider, stream_of(outsider) as board:
        await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
        await container.incidents.declare(people.slack("outsider"), "Queue stuck", team="platform")
        card = await board.card()
        assert _number(card) == 2 and "Queue stuck" in card


async def test_a_change_in_another_process_arrives_within_the_catch_up_sweep(container, settings, base_url, people):
    sweepers = [c for s in container.surfaces if s.name == "console" for c in s.components]
    other = bootstrap.build(settings)  # another process on the same database: its bus is not ours
    async with signed_in(container, base_url, "responder@example.com") as responder, stream_of(responder) as board:
        for sweeper in sweepers:
            await sweeper.start()
        try:
            await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
            card = await board.card(within=SWEEP + 2)
            assert _number(card) == 1 and "Disk full" in card
            await other.incidents.acknowledge(1, people.slack("team_lead"))
            assert "Acknowledged by Team Lead at" in await board.card(within=SWEEP + 2)
        finally:
            for sweeper in sweepers:
                await sweeper.stop()
            await other.close()


async def test_the_stream_needs_a_session(base_url):
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        response = await anonymous.get("/events")
    assert (response.status_code, urlsplit(response.headers["location"]).path) == (303, "/signin")
