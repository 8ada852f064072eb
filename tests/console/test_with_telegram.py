"""The console beside Telegram in one process (the real python-telegram-bot against the fake Bot API on
127.0.0.1, updates posted to the webhook as Telegram sends them): an acknowledge on the web edits the
Telegram card, and one pressed in Telegram reaches an open board and an open incident page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import create_app
from bot.bootstrap import Parts
from bot.container import Container
from bot.settings import Settings
from tests.asgi import served
from tests.console.conftest import csrf_of, press
from tests.console.test_events import signed_in, stream_of
from tests.console.test_live_page import page_stream
from tests.fakes.telegram_api import FakeMessage, FakeTelegram
from tests.telegram.harness import FAST, GROUP, TelegramBot, telegram_settings, user_id
from tests.webhooks.support import serving


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def settings(db_url: str, tg: FakeTelegram) -> Settings:
    return telegram_settings(Settings(database_url=db_url, scheduler=False), tg)


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, telegram=True, console=True)


@pytest.fixture
def build_options() -> dict[str, Any]:
    return {"telegram_limits": FAST}


@pytest.fixture
async def both(container: Container, tg: FakeTelegram, people) -> AsyncIterator[tuple[TelegramBot, str]]:
    """The app with its lifespan running (Telegram's runtime started: getMe, setWebhook), reached by
    Telegram's webhook in process and by browsers over a real uvicorn."""
    app = create_app(container, migrate=False)
    async with served(app), serving(app, container) as base_url:
        bot = TelegramBot(tg, container.telegram)
        yield bot, base_url
        await bot.http.aclose()  # the lifespan stops the runtime


async def _declare(bot: TelegramBot, container: Container, people) -> FakeMessage:
    await container.incidents.declare(people.slack("responder"), "Checkout is down", severity="critical",
                                      team="payments")
    await container.bus.drain()
    await bot.runtime.drain()
    [card] = [m for m in bot.tg.messages_in(GROUP) if "Incident #1" in m.text]
    return card


async def test_an_acknowledge_on_the_web_changes_the_telegram_card(both, container, people):
    bot, base_url = both
    card = await _declare(bot, container, people)
    assert "Status: open" in card.text and card.button("Acknowledge")
    async with signed_in(container, base_url, "responder@example.com") as responder:
        pressed = await press(responder, "/incidents/1/ack", {"csrf": csrf_of((await responder.get("/")).text)})
        assert 'class="reply ok"' in pressed.text
    await bot.runtime.drain()
    assert "Status: acknowledged" in card.text and "Acknowledged by Responder" in card.text
    assert [b["text"] for b in card.buttons()] == ["Resolve", "Snooze 1h"]
    assert card.edits == 1


async def test_an_acknowledge_in_telegram_changes_the_web_card_and_the_open_page(both, container, people):
    bot, base_url = both
    card = await _declare(bot, container, people)
    async with signed_in(container, base_url, "team_lead@example.com") as lead, stream_of(lead) as board, \
            await page_stream(lead, 1) as page:
        update = bot.tg.press(card, user_id(people, "responder"), card.button("Acknowledge")["callback_data"])
        assert (await bot.post(update)).status_code == 200
        web_card = await board.card()
        assert 'id="incident-1"' in web_card and "Acknowledged by Responder at" in web_card
        assert ">Acknowledge</button>" not in web_card
        assert await page.next() == ("incident", "1")
        assert "<td>Responder</td><td>acknowledged</td>" in (await lead.get("/incidents/1/live")).text
