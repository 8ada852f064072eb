"""The console beside Slack in one process (the fake Slack Web API on 127.0.0.1, signed requests as Slack
sends them): an acknowledge on the web changes the Slack card, and one pressed in Slack reaches an open
board's event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import create_app
from bot.bootstrap import Parts
from bot.container import Container
from bot.slack import ids
from tests.asgi import served
from tests.console.conftest import csrf_of, press
from tests.console.test_events import signed_in, stream_of
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import SlackHarness, slack_settings
from tests.webhooks.support import serving


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack):
    return slack_settings(db_url, fake_slack)


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, slack=True, console=True)


@pytest.fixture
async def both(container: Container, fake_slack: FakeSlack, people) -> AsyncIterator[tuple[SlackHarness, str]]:
    """The app with its lifespan running (Slack's runtime), reached by Slack in process and by browsers
    over a real uvicorn."""
    app = create_app(container, migrate=False)
    async with served(app) as http, serving(app, container) as base_url:
        yield SlackHarness(http, fake_slack, container), base_url


async def test_an_acknowledge_on_the_web_changes_the_slack_card(both, container, people):
    slack, base_url = both
    await container.incidents.declare(people.slack("responder"), "Checkout is down", severity="critical",
                                      team="payments")
    await slack.settle()
    assert slack.card().current["text"] == "#1 [critical] Checkout is down (open)"
    async with signed_in(container, base_url, "responder@example.com") as responder:
        pressed = await press(responder, "/incidents/1/ack", {"csrf": csrf_of((await responder.get("/")).text)})
        assert 'class="reply ok"' in pressed.text
    await slack.settle()
    assert slack.card().current["text"] == "#1 [critical] Checkout is down (acknowledged)"


async def test_an_acknowledge_in_slack_changes_the_web_card(both, container, people):
    slack, base_url = both
    await container.incidents.declare(people.slack("responder"), "Checkout is down", severity="critical",
                                      team="payments")
    await container.bus.drain()  # the declared card went out before the board opens
    await slack.settle()
    async with signed_in(container, base_url, "team_lead@example.com") as lead, stream_of(lead) as board:
        await slack.press(slack.card().blocks, ids.ACKNOWLEDGE, user_id="URESPONDER")
        card = await board.card()
        assert 'id="incident-1"' in card and "Acknowledged by Responder at" in card
        assert ">Acknowledge</button>" not in card
