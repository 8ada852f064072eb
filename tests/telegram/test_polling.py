"""Long polling (the default, no public URL): the real PTB Updater against the fake getUpdates."""

from __future__ import annotations

from bot.telegram.app import TelegramRuntime
from tests.telegram.harness import FAST, GROUP, telegram_container

RESPONDER = 1002


async def test_polling_mode_answers_commands_and_button_presses(container, people, tg):
    runtime = TelegramRuntime(telegram_container(container, tg, webhook=False), limits=FAST, poll_timeout=1)
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
