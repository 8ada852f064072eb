"""Fixtures: the fake Bot API, and the bot under test in webhook mode on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.bootstrap import Parts
from bot.container import Container
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.harness import FAST, TelegramBot, telegram_settings


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def settings(db_url: str, tg: FakeTelegram) -> Settings:
    """Overrides the root fixture: webhook mode against the fake Bot API."""
    return telegram_settings(Settings(database_url=db_url, scheduler=False), tg)


@pytest.fixture
def parts() -> Parts:
    return Parts(telegram=True)


@pytest.fixture
def build_options() -> dict[str, Any]:
    return {"telegram_limits": FAST}


@pytest.fixture
async def bot(container: Container, people, tg: FakeTelegram) -> AsyncIterator[TelegramBot]:
    """The bot in webhook mode, started (getMe, setWebhook), on both databases."""
    assert container.telegram is not None
    await container.telegram.start()
    # The answer's content is what these tests read: on a loaded machine the 0.7 s window would turn a
    # refusal into "Working on it" now and then. The late path has its own tests (test_buttons).
    container.telegram.buttons.answer_within = 30.0
    harness = TelegramBot(tg, container.telegram)
    yield harness
    await harness.close()
