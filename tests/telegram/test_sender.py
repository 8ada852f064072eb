"""The Telegram sender (escalation's outbound port) and the pacing every send goes through."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot

from bot.telegram.outbox import TELEGRAM_LIMITS, Outbox
from storage.ports import DeliveryError, Destination, Page
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import GROUP

RESPONDER = 1002


async def page_for(bot, people) -> Page:
    result = await bot.runtime.container.incidents.declare(people.slack("responder"), "Queue <stuck>",
                                                           team="payments")
    await bot.runtime.drain()
    return Page(result.incident, "escalation step 1", "You are on call for #1")


def dm_to(people, role: str = "responder") -> Destination:
    return Destination("telegram", str(1000 + 2), person_id=people.ids[role])


async def test_a_page_is_a_direct_message_with_the_card_and_its_buttons(bot, people):
    page = await page_for(bot, people)
    delivery = await bot.runtime.container.senders["telegram"].send(dm_to(people), page)
    message = bot.tg.last_message(RESPONDER)
    assert delivery.reference == str(message.message_id) and delivery.thread == str(RESPONDER)
    assert "You are on call for #1" in message.text and "Queue <stuck>" in message.text
    assert message.button("Acknowledge")


async def test_a_429_is_waited_out_and_the_message_delivered_once(bot, people):
    page = await page_for(bot, people)
    bot.tg.fail("sendMessage", retry_after=1, chat_id=RESPONDER)
    started = time.monotonic()
    await bot.runtime.container.senders["telegram"].send(dm_to(people), page)
    attempts = [c for c in bot.tg.calls if c.method == "sendMessage" and c.params["chat_id"] == RESPONDER]
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 0.95 and time.monotonic() - started >= 0.95
    assert len(bot.tg.messages_in(RESPONDER)) == 1


async def test_flood_control_that_does_not_end_becomes_a_retryable_delivery_error(bot, people):
    page = await page_for(bot, people)
    bot.runtime.outbox.max_attempts = 2
    bot.tg.fail("sendMessage", retry_after=1, chat_id=RESPONDER, times=2)
    with pytest.raises(DeliveryError) as caught:
        await bot.runtime.container.senders["telegram"].send(dm_to(people), page)
    assert caught.value.retry_after == 1 and not caught.value.permanent
    assert bot.tg.messages_in(RESPONDER) == []


async def test_a_person_who_blocked_the_bot_is_a_permanent_failure(bot, people):
    page = await page_for(bot, people)
    bot.tg.blocked.add(RESPONDER)
    with pytest.raises(DeliveryError) as caught:
        await bot.runtime.container.senders["telegram"].send(dm_to(people), page)
    assert caught.value.permanent and "blocked" in str(caught.value)


async def test_an_address_that_is_not_a_chat_id_is_a_permanent_failure(bot, people):
    page = await page_for(bot, people)
    with pytest.raises(DeliveryError) as caught:
        await bot.runtime.container.senders["telegram"].send(Destination("telegram", "@someone"), page)
    assert caught.value.permanent


async def test_a_page_into_a_group_topic(bot, people):
    page = await page_for(bot, people)
    await bot.runtime.container.senders["telegram"].send(Destination("telegram", str(GROUP), topic=9), page)
    assert bot.tg.calls_to("sendMessage")[-1]["message_thread_id"] == 9


async def test_sends_to_one_chat_are_paced_at_one_per_second_but_other_chats_do_not_wait():
    async with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url)
        async with bot:
            outbox = Outbox(bot, TELEGRAM_LIMITS)
            started = time.monotonic()
            await asyncio.gather(*(outbox.send(-100500, f"group {i}") for i in range(3)),
                                 *(outbox.send(7000 + i, "private") for i in range(5)))
            at = {(c.params["chat_id"], c.params["text"]): c.at - started for c in tg.calls
                  if c.method == "sendMessage"}
        same_chat = sorted(t for (chat, _), t in at.items() if chat == -100500)
        assert same_chat[1] - same_chat[0] >= 0.95 and same_chat[2] - same_chat[1] >= 0.95
        assert max(t for (chat, _), t in at.items() if chat != -100500) < 0.9
        assert len(tg.messages) == 8
