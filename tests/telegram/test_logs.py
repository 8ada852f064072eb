"""The bot token never appears in logs, whatever happens (start, commands, 429s, failures, forged presses)."""

from __future__ import annotations

import logging

from tests.telegram.harness import GROUP, TelegramBot

RESPONDER = 1002


async def test_the_bot_token_is_not_logged(container, people, tg, caplog):
    """The ``container`` fixture's process: built before the logging level went down, as in production."""
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):  # as bot.logs.configure does: httpx prints URLs with the token at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    runtime = container.telegram
    await runtime.start()
    bot = TelegramBot(tg, runtime)
    try:
        tg.fail("sendMessage", retry_after=1)
        await bot.command(GROUP, RESPONDER, "/incident declare Logged team:payments")
        tg.fail("sendMessage", status=500, retry_after=None, description="Internal Server Error")
        await bot.post(tg.command(GROUP, RESPONDER, "/help"))
        card = next(m for m in tg.messages_in(GROUP) if m.reply_markup)
        await bot.post(tg.press(card, RESPONDER, "inc:v1:ack:1:forgedforged"))
    finally:
        await bot.close()
    assert caplog.records, "expected some log lines to check"
    assert tg.token not in caplog.text
    assert tg.token.split(":")[1] not in caplog.text
