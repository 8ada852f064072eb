"""A Telegram-enabled container: the real PTB Application against the fake Bot API on 127.0.0.1.

For a test on any surface:

    async with FakeTelegram() as tg:
        container = bootstrap.build(telegram_settings(settings, tg), parts=Parts(telegram=True),
                                    telegram_limits=FAST)
        await container.telegram.start()               # getMe, setWebhook
        bot = TelegramBot(tg, container.telegram)
        await bot.post(tg.press(card, user_id, data))  # through POST /telegram/webhook, effects awaited
        ...
        await bot.close()                              # stops the runtime
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

import httpx
from starlette.applications import Starlette

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.settings import Settings
from bot.telegram.app import SECRET_HEADER, WEBHOOK_PATH, TelegramRuntime
from escalation.pacing import Limit
from storage.clock import Clock
from tests.fakes.telegram_api import FakeTelegram

#: Generous limits so that tests do not wait a second between replies (pacing has its own tests).
FAST = (Limit("chat:", 1000, 1.0), Limit("group:", 1000, 60.0), Limit("all", 1000, 1.0))
GROUP = -100200  # the chat bound to team "payments" by the people fixture
WEBHOOK_URL = "https://tocsin.example.com/telegram/webhook"


def telegram_settings(settings: Settings, tg: FakeTelegram, *, webhook: bool = True,
                      secret: str | None = "s3cret-webhook", token: str | None = None) -> Settings:
    """``settings`` pointed at the fake API (the only change a Telegram-enabled process needs)."""
    return dataclasses.replace(settings, telegram_bot_token=token or tg.token, telegram_api_url=tg.base_url,
                               telegram_webhook_url=WEBHOOK_URL if webhook else None, telegram_webhook_secret=secret)


def telegram_process(settings: Settings, clock: Clock, tg: FakeTelegram, **options: Any) -> Container:
    """A process with Telegram only (not started), on ``settings`` pointed at the fake API (``options``:
    those of ``telegram_settings``)."""
    return bootstrap.build(telegram_settings(settings, tg, **options), TocsinConfig(), clock,
                           parts=bootstrap.Parts(telegram=True), telegram_limits=FAST)


class TelegramBot:
    """The bot under test in webhook mode, and a way to deliver updates to it as Telegram would."""

    def __init__(self, tg: FakeTelegram, runtime: TelegramRuntime) -> None:
        self.tg, self.runtime = tg, runtime
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(Starlette(routes=runtime.surface().routes)),
                                      base_url="http://tocsin.test")

    async def post(self, update: dict[str, Any], secret: str | None = None) -> httpx.Response:
        """Deliver ``update`` to POST /telegram/webhook and wait until every effect has happened."""
        headers = {SECRET_HEADER: self.runtime.secret if secret is None else secret}
        response = await self.http.post(WEBHOOK_PATH, json=update, headers=headers)
        await self.runtime.drain()
        return response

    async def command(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> str:
        """Send a command and return the text of the bot's reply in that chat, as the user sees it."""
        before = len(self.tg.calls_to("sendMessage"))
        response = await self.post(self.tg.command(chat_id, user_id, text, **kwargs))
        assert response.status_code == 200
        replies = [p for p in self.tg.calls_to("sendMessage")[before:] if p["chat_id"] == chat_id
                   and "reply_parameters" in p]
        assert replies, f"no reply to {text!r}"
        return visible(replies[-1]["text"])

    async def close(self) -> None:
        await self.http.aclose()
        await self.runtime.stop()


def visible(html_text: str) -> str:
    """What a user sees of an HTML message."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def user_id(people, role: str) -> int:
    return int(people.telegram(role).external_id)
