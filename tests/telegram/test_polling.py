"""Long polling (the default, no public URL): the real PTB Updater against the fake getUpdates."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from tests.telegram.harness import FAST, GROUP, telegram_settings

RESPONDER = 1002


@pytest.fixture
def settings(db_url, tg) -> Settings:
    return telegram_settings(Settings(database_url=db_url, scheduler=False), tg, webhook=False)


@pytest.fixture
def build_options() -> dict:
    return {"telegram_limits": FAST, "telegram_poll_timeout": 1}


async def test_polling_mode_answers_commands_and_button_presses(container, people, tg):
    runtime = container.telegram
    assert runtime.surface().routes == [] and runtime.surface().status == "on (polling)"
    await runtime.start()
    try:
        assert tg.calls_to("deleteWebhook")  # polling and a webhook cannot both be on
        tg.push_update(tg.command(GROUP, RESPONDER, "/incident declare Polled team:payments"))
        await tg.wait_for("sendMessage", count=2)  # the reply and the card
        await runtime.drain()
        card = next(m for m in tg.messages_in(GROUP) if m.reply_markup)
        press = tg.push_update(tg.press(card, RESPONDER, card.button("Acknowledge")["callback_data"]))
        [answer] = await tg.wait_for("answerCallbackQuery")
        assert answer["callback_query_id"] == press["callback_query"]["id"]
        await tg.wait_for("editMessageText")
        await runtime.drain()
        assert "Status: acknowledged" in card.text
        # the next poll confirms the updates, so they are not fetched again
        await tg.wait_for("getUpdates", where=lambda p: (p.get("offset") or 0) > press["update_id"])
    finally:
        await runtime.stop()
    assert (await container.queries.get(1)).status == "acknowledged"
