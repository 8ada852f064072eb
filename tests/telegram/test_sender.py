"""The Telegram sender (escalation's outbound port) and the pacing every send goes through."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot

from bot.chat import copies
from bot.telegram.outbox import TELEGRAM_LIMITS, Outbox
from escalation.pacing import Limit
from storage.ports import DeliveryError, Destination, Page
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.harness import GROUP

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
    assert delivery.reference == str(message.message_id) and delivery.thread == str(message.message_id)
    assert "You are on call for #1" in message.text and "Queue <stuck>" in message.text
    assert message.button("Acknowledge")


async def test_a_notice_replies_to_the_page_it_follows_without_buttons(bot, people):
    page = await page_for(bot, people)
    sender = bot.runtime.container.senders["telegram"]
    first = await sender.send(dm_to(people), page)
    notice = Page(page.incident, "acknowledged", "#1 was acknowledged by Team Lead", kind="notice")
    await sender.send(Destination("telegram", str(RESPONDER), thread=first.thread), notice)
    call = bot.tg.calls_to("sendMessage")[-1]
    assert call["reply_parameters"]["message_id"] == int(first.reference) and "reply_markup" not in call
    assert len(await copies.of(bot.runtime.container.db, "telegram", page.incident.id)) == 2  # group card + page


async def test_a_429_becomes_a_delivery_error_with_retry_after_and_the_retry_delivers_once(bot, people):
    page = await page_for(bot, people)
    sender = bot.runtime.container.senders["telegram"]
    bot.tg.fail("sendMessage", retry_after=1, chat_id=RESPONDER)
    with pytest.raises(DeliveryError) as caught:
        await sender.send(dm_to(people), page)  # one attempt: the dispatcher owns the schedule of retries
    assert caught.value.retry_after == 1 and not caught.value.permanent
    assert bot.tg.messages_in(RESPONDER) == []
    await sender.send(dm_to(people), page)
    assert len(bot.tg.messages_in(RESPONDER)) == 1


async def test_a_429_on_a_card_is_waited_out_and_the_card_posted_once(bot, people):
    bot.tg.fail("sendMessage", retry_after=1, chat_id=GROUP)
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Busy", team="payments")
    await bot.runtime.drain()
    attempts = [c for c in bot.tg.calls if c.method == "sendMessage" and c.params["chat_id"] == GROUP]
    assert len(attempts) == 2 and attempts[1].at - attempts[0].at >= 0.95
    assert len(bot.tg.messages_in(GROUP)) == 1


async def test_a_card_edit_that_keeps_hitting_429_gives_up_loudly(bot, people, caplog):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Busy", team="payments")
    await bot.runtime.drain()
    bot.runtime.outbox.max_attempts = 2
    bot.tg.fail("editMessageText", retry_after=1, times=2)
    await bot.runtime.container.incidents.acknowledge(1, people.slack("responder"))
    await bot.runtime.drain()
    assert "Status: open" in bot.tg.last_message(GROUP).text
    assert any(r.levelname == "ERROR" and "could not edit the card of #1" in r.getMessage() for r in caplog.records)


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


async def test_a_group_is_held_to_its_per_minute_budget_but_private_chats_are_not():
    async with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url)
        async with bot:
            outbox = Outbox(bot, (Limit("chat:", 100, 1.0), Limit("group:", 2, 1.0), Limit("all", 100, 1.0)))
            started = time.monotonic()
            for _ in range(3):
                await outbox.send(-100500, "group")
                await outbox.send(7000, "private")
            at = [(c.params["chat_id"], c.at - started) for c in tg.calls if c.method == "sendMessage"]
        group = [t for chat, t in at if chat < 0]
        assert group[2] - group[0] >= 0.95  # the third group message waited for the window
        assert [t for chat, t in at if chat > 0][1] < 0.5


async def test_an_oncall_handoff_notice_is_a_plain_direct_message(bot, people):
    text = "You are on call for payments-primary until Mon 30 Nov 09:00 Europe/Lisbon"
    notice = Page(None, "oncall:handoff", text, "oncall", key="tocsin-notification-4")
    delivery = await bot.runtime.container.senders["telegram"].send(dm_to(people), notice)
    message = bot.tg.last_message(RESPONDER)
    assert delivery.reference == str(message.message_id) and message.text == text
    assert "reply_markup" not in bot.tg.calls_to("sendMessage")[-1]
