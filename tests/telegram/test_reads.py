"""Reading in Telegram is gated by the reader's role; an unlinked user is told how to link."""

from __future__ import annotations

import pytest

from tests.telegram.harness import GROUP, user_id

RESPONDER = 1002
STRANGER = 4242


@pytest.fixture
async def incident(bot, people):
    assert "Declared #1" in await bot.command(GROUP, RESPONDER, "/incident declare Checkout down team:payments")


@pytest.mark.parametrize("text", ["/incident list all", "/incident show 1", "/incident timeline 1",
                                  "/incident stats", "/incident list team payments"])
async def test_an_unlinked_user_reads_nothing_and_is_told_how_to_link(bot, people, incident, text):
    reply = await bot.command(STRANGER, STRANGER, text)
    assert "not linked" in reply and "/incident link" in reply and "tocsin link-code" in reply, reply
    assert "/start CODE" in reply and "Checkout down" not in reply


async def test_another_teams_incidents_are_not_listed_or_shown(bot, people, incident):
    outsider = user_id(people, "outsider")
    assert "Checkout down" not in await bot.command(outsider, outsider, "/incident list all")
    reply = await bot.command(outsider, outsider, "/incident show 1")
    assert "has no role in team payments" in reply and "Checkout down" not in reply
    observer = user_id(people, "observer")
    assert "Checkout down" in await bot.command(observer, observer, "/incident list all")
