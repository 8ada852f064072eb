"""Changes made by another process (webhooks taken by ``tocsin sidecar``) reach the Telegram card too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.settings import Settings
from storage.models import ChatBinding, Team
from tests.telegram.harness import GROUP


@pytest.fixture
async def other(container: Container, clock) -> AsyncIterator[Container]:
    """Another process on the same database, without Telegram: its change bus never reaches the bot's."""
    process = bootstrap.build(Settings(database_url=container.settings.database_url, scheduler=False),
                              TocsinConfig(), clock)
    yield process
    await process.close()


async def sweep(bot, mark):
    mark = await bot.runtime.sweep(mark)
    await bot.runtime.drain()
    return mark


async def test_an_incident_opened_by_another_process_gets_its_card_after_a_sweep(bot, people, other):
    mark = await sweep(bot, None)
    await other.incidents.declare(people.slack("responder"), "Disk full", team="payments", severity="high")
    await sweep(bot, mark)
    [card] = bot.tg.messages_in(GROUP)
    assert "Incident #1: Disk full" in card.text and "Severity: high" in card.text
    assert [b["text"] for b in card.buttons()] == ["Acknowledge", "Resolve", "Escalate", "Snooze 1h"]


async def test_an_acknowledge_by_another_process_edits_the_card_after_a_sweep(bot, people, other, clock):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await bot.runtime.drain()
    card = bot.tg.last_message(GROUP)
    mark = await sweep(bot, None)
    clock.advance(minutes=2)
    await other.incidents.acknowledge(1, people.telegram("responder"))
    await bot.runtime.drain()
    assert "Status: open" in card.text  # this process's bus never heard of it
    await sweep(bot, mark)
    assert "Status: acknowledged" in card.text and "Acknowledged by Responder" in card.text
    assert [b["text"] for b in card.buttons()] == ["Resolve", "Snooze 1h"]
    assert len(bot.tg.messages_in(GROUP)) == 1


async def test_a_swept_card_goes_to_the_teams_forum_topic(bot, people, other):
    async with other.db.transaction() as session:
        await session.execute(update(ChatBinding).where(
            ChatBinding.platform == "telegram", ChatBinding.team_id.in_(select(Team.id).where(Team.name == "payments")))
            .values(thread="42"))
    await other.incidents.declare(people.slack("responder"), "Latency", team="payments")
    await sweep(bot, None)
    [card] = bot.tg.messages_in(GROUP)
    assert card.thread_id == 42


async def test_while_telegram_is_unreachable_the_sweep_keeps_its_mark(bot, people, other):
    await bot.runtime.application.stop()  # as before the first connection succeeds
    await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    assert await bot.runtime.sweep(None) is None
    await bot.runtime.application.start()
    await sweep(bot, None)
    assert len(bot.tg.messages_in(GROUP)) == 1
