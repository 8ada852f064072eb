"""Incident cards: posted to the team's chat (or forum topic) on declare, edited in place after every change."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.chat.contract import Where
from storage.models import ChatBinding, Team
from tests.telegram.harness import GROUP


async def test_declared_incident_is_posted_to_the_team_group_as_escaped_html(bot, people):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "DB <primary> & replica down",
                                                  team="payments", severity="critical")
    await bot.runtime.drain()
    [post] = [p for p in bot.tg.calls_to("sendMessage") if p["chat_id"] == GROUP]
    assert post["parse_mode"] == "HTML"
    assert "Incident #1: DB &lt;primary&gt; &amp; replica down" in post["text"]
    assert "message_thread_id" not in post
    card = bot.tg.last_message(GROUP)
    assert "Severity: critical" in card.text and "Team: payments" in card.text


async def test_a_team_bound_to_a_forum_topic_gets_its_card_in_that_topic(bot, people):
    async with bot.runtime.container.db.transaction() as session:
        await session.execute(update(ChatBinding).where(
            ChatBinding.platform == "telegram", ChatBinding.team_id.in_(select(Team.id).where(Team.name == "payments")))
            .values(thread="42"))
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Latency", team="payments")
    await bot.runtime.drain()
    [post] = [p for p in bot.tg.calls_to("sendMessage") if p["chat_id"] == GROUP]
    assert post["message_thread_id"] == 42
    assert bot.tg.last_message(GROUP).thread_id == 42


async def test_team_without_a_telegram_chat_gets_no_card(bot, people):
    await bot.runtime.container.incidents.declare(people.slack("admin"), "Platform thing", team="platform")
    await bot.runtime.drain()
    assert bot.tg.calls_to("sendMessage") == []


async def test_a_deleted_card_does_not_stop_the_other_copies_from_updating(bot, people, caplog):
    incidents = bot.runtime.container.incidents
    await incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    await bot.runtime.drain()
    first = bot.tg.last_message(GROUP)
    await bot.runtime.cards.show(await bot.runtime.container.queries.get(1), Where(str(GROUP)))  # a second copy
    second = bot.tg.last_message(GROUP)
    del bot.tg.messages[(GROUP, first.message_id)]  # someone deleted the first copy in Telegram
    await incidents.acknowledge(1, people.slack("responder"))
    await bot.runtime.drain()
    assert "Status: acknowledged" in second.text
    assert any("message to edit not found" in r.getMessage().lower() for r in caplog.records)
