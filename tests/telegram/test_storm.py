"""Storm coalescing on Telegram (issue 16, item 4): a burst of alerts for one team gives its group one summary
message, edited as the burst goes on, instead of a card per incident."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.bootstrap import Parts
from tests.slack.test_storm import alert_group
from tests.telegram.harness import GROUP, visible
from tests.webhooks.support import AM, client_for, configure, sidecar_app


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, telegram=True)


@pytest.fixture
async def webhooks(container, bot) -> AsyncIterator[httpx.AsyncClient]:
    configure(container, storm={"update_every": 1})
    async with client_for(sidecar_app(container), container) as http:
        yield http


async def test_twelve_alerts_in_a_minute_give_one_summary_in_the_group(bot, webhooks, container, clock):
    for i in range(12):
        response = await webhooks.post("/webhooks/alertmanager", json=alert_group(i), headers=AM)
        assert response.status_code == 200, response.text
        clock.advance(seconds=4)
    await bot.runtime.drain()

    posts = [p for p in bot.tg.calls_to("sendMessage") if p["chat_id"] == GROUP]
    assert len(posts) == 6  # five cards, then the summary
    summary = bot.tg.messages_in(GROUP)[5]
    assert visible(summary.text).startswith("Storm: 12 new incidents in payments in the last minute, 7 of them")
    assert "#11 Disk full on web10" not in visible(summary.text)  # five named, the rest counted
    assert "and 2 more" in visible(summary.text)
    edits = [p for p in bot.tg.calls_to("editMessageText") if p["message_id"] == summary.message_id]
    assert 1 <= len(edits) <= 6
    assert summary.buttons() == []  # a summary has no incident to act on
