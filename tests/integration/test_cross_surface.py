"""One incident, two chat platforms: every copy of the card follows changes made on either side."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import Parts
from bot.container import Container
from bot.settings import Settings
from bot.telegram.app import SECRET_HEADER, WEBHOOK_PATH
from tests.asgi import served
from tests.fakes.slack_api import FakeSlack, SlackRequests
from tests.fakes.telegram_api import FakeTelegram
from tests.slack.conftest import SECRET, slack_settings
from tests.telegram.harness import GROUP, telegram_settings


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeTelegram]]:
    async with FakeSlack() as fake_slack, FakeTelegram() as fake_telegram:
        yield fake_slack, fake_telegram


@pytest.fixture
def settings(db_url: str, fakes) -> Settings:
    """Both chat platforms pointed at their fake APIs on 127.0.0.1."""
    fake_slack, fake_telegram = fakes
    return telegram_settings(slack_settings(db_url, fake_slack), fake_telegram)


@pytest.fixture
def parts() -> Parts:
    return Parts(slack=True, telegram=True)


class Both:
    def __init__(self, container: Container, http: httpx.AsyncClient, fake_slack: FakeSlack,
                 fake_telegram: FakeTelegram) -> None:
        self.container, self.http, self.slack, self.tg = container, http, fake_slack, fake_telegram
        self.signed = SlackRequests(SECRET, fake_slack)

    async def settle(self) -> None:
        for _ in range(3):  # a change on one side can schedule work on the other
            await self.container.bus.drain()
            await self.container.telegram.drain()
            await self.container.slack.idle()

    def slack_card(self):
        return self.slack.messages_in("CPAYMENTS")[0]

    def telegram_card(self):
        return [m for m in self.tg.messages_in(GROUP) if m.buttons() or "#1" in m.text][0]

    async def press_in_telegram(self, user_id: int, label: str) -> httpx.Response:
        card = self.telegram_card()
        update = self.tg.press(card, user_id, card.button(label)["callback_data"])
        secret = self.container.telegram.secret
        response = await self.http.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: secret})
        await self.settle()
        return response

    async def press_in_slack(self, action_id: str, user_id: str) -> None:
        body, _ = self.signed.button(self.slack_card().current["blocks"], action_id, user_id=user_id)
        response = await self.http.post("/slack/events", content=body.encode(), headers=self.signed.sign(body))
        assert response.status_code == 200
        await self.settle()


@pytest.fixture
async def both(container: Container, fakes) -> AsyncIterator[Both]:
    async with served(create_app(container, migrate=False)) as http:
        yield Both(container, http, *fakes)


def _slack_text(message) -> str:
    return json.dumps(message.current["blocks"]).lower()


async def test_telegram_press_updates_the_slack_card_and_slack_press_updates_telegram(both, people):
    await both.container.incidents.declare(people.slack("responder"), "Checkout 502s", team="payments",
                                           severity="critical")
    await both.settle()
    assert "checkout 502s" in _slack_text(both.slack_card())
    assert "Checkout 502s" in both.telegram_card().text

    responder = 1000 + people.ROLES.index("responder")
    card = both.telegram_card()
    double_click = both.tg.press(card, responder, card.button("Acknowledge")["callback_data"])
    response = await both.press_in_telegram(responder, "Acknowledge")
    assert response.status_code == 200
    assert "acknowledged" in _slack_text(both.slack_card())
    assert "incident.acknowledge" not in json.dumps(both.slack_card().current["blocks"])
    assert "acknowledged" in both.telegram_card().text.lower()
    slack_edits, telegram_edits = len(both.slack_card().edits), both.telegram_card().edits

    double_click["update_id"] += 1000  # a second, separate press of the same button
    secret = both.container.telegram.secret
    assert (await both.http.post(WEBHOOK_PATH, json=double_click, headers={SECRET_HEADER: secret})).status_code == 200
    await both.settle()
    assert (len(both.slack_card().edits), both.telegram_card().edits) == (slack_edits, telegram_edits)
    kinds = [e.kind for e in await both.container.queries.timeline(1)]
    assert kinds.count("acknowledged") == 1

    await both.press_in_slack("incident.resolve.v1", "UTEAM_LEAD")
    view = await both.container.queries.get(1)
    assert view.status == "resolved" and view.resolved_by.name == "Team Lead"
    assert "resolved" in both.telegram_card().text.lower()
    assert both.telegram_card().buttons() == []
