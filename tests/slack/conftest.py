"""A Slack-enabled process: the real Bolt app on our Starlette app (HTTP mode), the real AsyncWebClient
pointed at a fake Slack Web API on 127.0.0.1, and signed requests sent the way Slack sends them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import Parts
from bot.container import Container
from bot.settings import Settings
from bot.slack.runtime import SlackRuntime
from tests.asgi import served
from tests.fakes.slack_api import FakeSlack, SlackRequests

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test"


def slack_settings(db_url: str, fake: FakeSlack, **overrides: Any) -> Settings:
    values = {"database_url": db_url, "scheduler": False, "slack_bot_token": TOKEN, "slack_signing_secret": SECRET,
              "slack_api_url": fake.base_url, **overrides}
    return Settings(**values)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    """Overrides the root fixture: Slack settings pointing at the fake."""
    return slack_settings(db_url, fake_slack)


@pytest.fixture
def parts() -> Parts:
    """The process with Slack (its Bolt app, card sync and sender), as the ``container`` fixture builds it."""
    return Parts(slack=True)


class SlackHarness:
    """Sends signed requests to ``POST /slack/events`` and waits for the work Bolt does after the ack."""

    def __init__(self, http: httpx.AsyncClient, fake: FakeSlack, container: Container) -> None:
        self.http, self.fake, self.container = http, fake, container
        assert container.slack is not None
        self.runtime: SlackRuntime = container.slack
        self.requests = SlackRequests(SECRET, fake)

    async def post(self, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post("/slack/events", content=body.encode(),
                                    headers=headers if headers is not None else self.requests.sign(body))

    async def command(self, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Run ``/incident text``; returns what the bot answered through the response_url."""
        body, key = self.requests.command(text, **kwargs)
        response = await self.post(body)
        assert response.status_code == 200, response.text
        await self.settle()
        return [r.body for r in self.fake.responses if r.key == key]

    async def press(self, blocks: list[dict[str, Any]], action_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        body, key = self.requests.button(blocks, action_id, **kwargs)
        response = await self.post(body)
        assert response.status_code == 200, response.text
        await self.settle()
        return [r.body for r in self.fake.responses if r.key == key]

    async def settle(self) -> None:
        await self.runtime.idle()

    def card(self, channel: str = "CPAYMENTS", index: int = 0) -> Any:
        return self.fake.messages_in(channel)[index]


@pytest.fixture
async def slack(container: Container, fake_slack: FakeSlack) -> AsyncIterator[SlackHarness]:
    """The app with only the Slack surface, its lifespan running, and an HTTP client on it."""
    async with served(create_app(container, migrate=False)) as http:
        yield SlackHarness(http, fake_slack, container)
