"""Updates are kept before the webhook answers: processed after, retried when they fail, dead after five
attempts, listed and replayed with ``tocsin inbound``, counted on /metrics."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from bot import webhooks
from bot.telegram.app import SECRET_HEADER, WEBHOOK_PATH
from storage import inbound
from tests.asgi import client
from tests.telegram.harness import GROUP

RESPONDER = 1002


async def deliver(bot, update: dict) -> httpx.Response:
    """POST the update as Telegram does, without waiting for its effects."""
    return await bot.http.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: bot.runtime.secret})


def tocsin(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "TOCSIN_"))}
    return subprocess.run([sys.executable, "-m", "bot", "--database-url", db_url, *args], env=env,
                          capture_output=True, text=True, timeout=60)


async def kept(bot) -> list[inbound.Inbound]:
    return await inbound.listing(bot.runtime.container.db, (inbound.PENDING, inbound.DONE, inbound.FAILED,
                                                            inbound.DEAD))


def replies(bot) -> list[str]:
    return [p["text"] for p in bot.tg.calls_to("sendMessage") if p["chat_id"] == GROUP]


async def metrics(container) -> dict[tuple[str, tuple], float]:
    app = Starlette(routes=webhooks.surface(container).routes)  # /metrics of this process
    async with client(app, container) as http:
        text = (await http.get("/metrics")).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_the_webhook_answers_once_the_update_is_kept_and_the_reply_follows(bot, people):
    bot.tg.delays["sendMessage"] = 1.0  # a slow Bot API (or a long retry_after) must not hold the delivery
    response = await deliver(bot, bot.tg.command(GROUP, RESPONDER, "/help"))
    assert response.status_code == 200
    assert bot.tg.messages_in(GROUP) == []  # answered before the reply went out
    [row] = await kept(bot)
    assert (row.platform, row.status, row.payload["message"]["text"]) == ("telegram", "pending", "/help")
    await bot.runtime.drain()
    assert "Tocsin commands" in bot.tg.last_message(GROUP).text
    assert [r.status for r in await kept(bot)] == ["done"]


async def test_a_delivery_of_an_update_already_kept_is_a_noop(bot, people):
    update = bot.tg.command(GROUP, RESPONDER, "/help")
    assert (await deliver(bot, update)).status_code == 200
    assert (await deliver(bot, update)).status_code == 200
    await bot.runtime.drain()
    assert len(replies(bot)) == 1 and len(await kept(bot)) == 1


async def test_an_update_a_dead_process_left_behind_is_processed_after_its_lease(bot, people, clock):
    update = bot.tg.command(GROUP, RESPONDER, "/help")
    await inbound.record(bot.runtime.container.db, "telegram", str(update["update_id"]), update, clock.now())
    assert await bot.runtime.inbound.run_due() == 0  # another process holds it, for all we know
    clock.advance(seconds=inbound.LEASE.total_seconds() + 1)
    assert await bot.runtime.inbound.run_due() == 1
    assert "Tocsin commands" in bot.tg.last_message(GROUP).text
    assert [r.status for r in await kept(bot)] == ["done"]


async def test_a_failed_update_is_counted_retried_after_a_backoff_and_then_done(bot, people, clock):
    bot.tg.fail("sendMessage", status=500, retry_after=None, description="Internal Server Error")
    await bot.post(bot.tg.command(GROUP, RESPONDER, "/help"))
    [row] = await kept(bot)
    assert (row.status, row.attempts) == ("failed", 1) and "Internal Server Error" in row.last_error
    assert "will try it again" in replies(bot)[-1]
    samples = await metrics(bot.runtime.container)
    assert samples[("tocsin_inbound_failures_total", (("platform", "telegram"),))] == 1
    assert samples[("tocsin_inbound_deliveries", (("platform", "telegram"), ("status", "failed")))] == 1
    assert await bot.runtime.inbound.run_due() == 0  # not before its backoff
    clock.advance(seconds=inbound.BACKOFF_FIRST.total_seconds())
    assert await bot.runtime.inbound.run_due() == 1
    assert "Tocsin commands" in replies(bot)[-1]
    assert [(r.status, r.attempts) for r in await kept(bot)] == [("done", 1)]


async def test_a_failure_that_cannot_pass_is_dead_at_once(bot, people):
    bot.tg.fail("sendMessage", status=400, description="Bad Request: can't parse entities")
    await bot.post(bot.tg.command(GROUP, RESPONDER, "/help"))
    [row] = await kept(bot)
    assert (row.status, row.attempts) == ("dead", 1) and "can't parse entities" in row.last_error.lower()
    assert "it has been logged" in replies(bot)[-1]


async def test_an_update_failing_five_times_is_dead_and_an_operator_lists_and_replays_it(bot, people, clock, db_url):
    bot.tg.fail("sendMessage", status=502, retry_after=None, description="Bad Gateway", times=100)
    await bot.post(bot.tg.command(GROUP, RESPONDER, "/help"))
    for _ in range(4):
        clock.advance(hours=1)
        assert await bot.runtime.inbound.run_due() == 1
    [row] = await kept(bot)
    assert (row.status, row.attempts) == ("dead", 5)
    assert await bot.runtime.inbound.run_due() == 0 and len(replies(bot)) == 6  # 5 tries, 1 notice

    listed = tocsin(db_url, "inbound", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{row.id}" in listed.stdout and "telegram" in listed.stdout and "dead" in listed.stdout
    assert "NetworkError: Bad Gateway" in listed.stdout and bot.tg.token not in listed.stdout

    bot.tg.heal()
    replayed = tocsin(db_url, "inbound", "replay", str(row.id))
    assert replayed.returncode == 0 and "1 delivery replayed" in replayed.stdout, replayed.stderr
    assert await bot.runtime.inbound.run_due() == 1
    assert "Tocsin commands" in bot.tg.last_message(GROUP).text
    assert [r.status for r in await kept(bot)] == ["done"]
    assert "nothing to replay" in tocsin(db_url, "inbound", "replay", "--all").stdout


async def test_replaying_an_unknown_or_done_delivery_says_so(bot, people, db_url):
    await bot.post(bot.tg.command(GROUP, RESPONDER, "/help"))
    [row] = await kept(bot)
    result = tocsin(db_url, "inbound", "replay", str(row.id), "999")
    assert result.returncode == 1
    assert f"#{row.id} is done" in result.stderr and "no delivery #999" in result.stderr
    usage = tocsin(db_url, "inbound", "replay")
    assert usage.returncode == 2 and "ID" in usage.stderr and "--all" in usage.stderr


async def test_a_press_whose_query_expired_still_acts_and_is_done(bot, people):
    """A replayed or late press: Telegram refuses to answer a query older than a few seconds."""
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Down", team="payments")
    await bot.runtime.drain()
    card = bot.tg.last_message(GROUP)
    bot.tg.fail("answerCallbackQuery", status=400, times=2,
                description="Bad Request: query is too old and response timeout expired or query ID is invalid")
    await bot.post(bot.tg.press(card, RESPONDER, card.button("Acknowledge")["callback_data"]))
    assert (await bot.runtime.container.queries.get(1)).status == "acknowledged"
    assert [r.status for r in await kept(bot)] == ["done"]
