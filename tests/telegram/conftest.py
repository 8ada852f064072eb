"""Fixtures: the fake Bot API, and the bot under test in webhook mode on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.container import Container
from bot.telegram.app import TelegramRuntime
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.harness import FAST, TelegramBot, telegram_container


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(container: Container, people, tg: FakeTelegram) -> AsyncIterator[TelegramBot]:
    """The bot in webhook mode, started (getMe, setWebhook), on both databases."""
    runtime = TelegramRuntime(telegram_container(container, tg), limits=FAST)
    await runtime.start()
    harness = TelegramBot(tg, runtime)
    yield harness
    await harness.close()
