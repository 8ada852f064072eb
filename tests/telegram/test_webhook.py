"""Webhook mode: the secret token, once-only processing of update_id, failures that never make Telegram stall."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from bot import bootstrap
from bot.app import create_app
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.telegram.app import SECRET_HEADER, WEBHOOK_PATH, webhook_secret
from storage.queries import IncidentFilter
from tests.telegram.harness import GROUP, WEBHOOK_URL, telegram_process

RESPONDER = 1002


async def test_start_registers_the_webhook_with_its_secret(bot):
    [call] = bot.tg.calls_to("setWebhook")
    assert call["url"] == WEBHOOK_URL
    assert call["secret_token"] == "s3cret-webhook"
    assert call["allowed_updates"] == ["message", "callback_query"]


async def test_wrong_or_missing_secret_gets_403_and_nothing_happens(bot, people):
    update = bot.tg.command(GROUP, RESPONDER, "/incident declare Spoofed team:payments")
    assert (await bot.post(update, secret="wrong")).status_code == 403
    response = await bot.http.post(WEBHOOK_PATH, json=update)
    assert response.status_code == 403
    assert bot.tg.calls_to("sendMessage") == []
    _, total = await bot.runtime.container.queries.list(IncidentFilter())
    assert total == 0
    assert (await bot.post(update)).status_code == 200  # the real delivery still counts: nothing was recorded
    assert (await bot.runtime.container.queries.get(1)).title == "Spoofed"


async def test_the_same_update_id_twice_is_processed_once(bot, people):
    update = bot.tg.command(GROUP, RESPONDER, "/incident declare Once team:payments")
    assert (await bot.post(update)).status_code == 200
    assert (await bot.post(update)).status_code == 200
    _, total = await bot.runtime.container.queries.list(IncidentFilter())
    assert total == 1
    replies = [p for p in bot.tg.calls_to("sendMessage") if "reply_parameters" in p]
    assert len(replies) == 1


async def test_a_press_redelivered_is_answered_once(bot, people):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Down", team="payments")
    await bot.runtime.drain()
    card = bot.tg.last_message(GROUP)
    update = bot.tg.press(card, RESPONDER, card.button("Acknowledge")["callback_data"])
    await bot.post(update)
    await bot.post(update)
    assert len(bot.tg.calls_to("answerCallbackQuery")) == 1
    assert card.edits == 1


async def test_a_failing_handler_is_logged_and_reported_but_the_webhook_answers_200(bot, people, caplog):
    bot.tg.fail("sendMessage", status=500, retry_after=None, description="Internal Server Error")
    update = bot.tg.command(GROUP, RESPONDER, "/help")
    response = await bot.post(update)
    assert response.status_code == 200
    assert any(r.levelno == logging.ERROR and "failed" in r.getMessage() for r in caplog.records)
    [first, report] = bot.tg.calls_to("sendMessage")
    assert "Tocsin commands" in first["text"] and "failed on our side" in report["text"]
    assert (await bot.post(update)).status_code == 200  # Telegram's retry of it is not processed again
    assert len(bot.tg.calls_to("sendMessage")) == 2


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no": "update_id"}', b"null"])
async def test_a_body_that_is_not_an_update_gets_400(bot, body):
    response = await bot.http.post(WEBHOOK_PATH, content=body, headers={SECRET_HEADER: bot.runtime.secret})
    assert response.status_code == 400


@pytest.fixture
async def process(settings, clock, tg) -> AsyncIterator[Callable[..., Container]]:
    """Builds a Telegram process on the fake API as ``telegram_process`` does; closed at the end."""
    built: list[Container] = []

    def build(settings=settings, **options) -> Container:
        built.append(telegram_process(settings, clock, tg, **options))
        return built[-1]

    yield build
    for c in built:
        if c.telegram is not None:
            await c.telegram.stop()
        await c.close()


async def test_without_a_configured_secret_one_is_derived_from_the_token_but_is_not_the_token(process, tg):
    runtime = process(secret=None).telegram
    await runtime.start()
    secret = tg.calls_to("setWebhook")[0]["secret_token"]
    assert secret == webhook_secret(tg.token, None) and tg.token not in secret
    assert len(secret) <= 256 and secret.replace("-", "").replace("_", "").isalnum()


async def test_the_root_serves_the_webhook_route_on_the_app(container, tg):
    app = create_app(container, migrate=False)
    assert [s.status for s in container.surfaces] == ["on (webhook)"]
    assert WEBHOOK_PATH in [route.path for route in app.routes]
    assert container.senders["telegram"].channel == "telegram"
    assert container.telegram.surface() is container.surfaces[0]
    assert container.bus.observed and container.chats["telegram"].cards is container.telegram.cards


async def test_telegram_is_off_without_a_token(container, clock):
    settings = dataclasses.replace(container.settings, telegram_bot_token=None)
    off = bootstrap.build(settings, TocsinConfig(), clock, parts=bootstrap.Parts(telegram=True))
    try:
        assert [s.status for s in off.surfaces] == ["off (TELEGRAM_BOT_TOKEN not set)"]
        assert off.telegram is None and "telegram" not in off.senders and not off.bus.observed
    finally:
        await off.close()


async def test_a_refused_token_turns_telegram_off_without_stopping_the_process(process, tg):
    runtime = process(token="999:WRONG-token").telegram
    await runtime.start()
    assert runtime.surface().status == "off (Telegram refused TELEGRAM_BOT_TOKEN)"


async def test_an_unreachable_api_at_start_is_retried_in_the_background(process, tg):
    tg.fail("getMe", status=502, retry_after=None, description="Bad Gateway")
    runtime = process().telegram
    runtime.retry_first = 0.05
    await runtime.start()
    assert runtime.surface().status == "on (waiting for Telegram)"
    async with asyncio.timeout(5):
        await runtime.until_connected()
    assert tg.calls_to("setWebhook") and runtime.surface().status == "on (webhook)"


async def test_a_press_whose_handler_fails_is_still_answered(bot, people):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Down", team="payments")
    await bot.runtime.drain()
    card = bot.tg.last_message(GROUP)
    bot.tg.fail("answerCallbackQuery", status=500, retry_after=None, description="Internal Server Error")
    response = await bot.post(bot.tg.press(card, RESPONDER, card.button("Acknowledge")["callback_data"]))
    assert response.status_code == 200
    first, second = bot.tg.calls_to("answerCallbackQuery")
    assert second["show_alert"] is True and "failed on our side" in second["text"]
