"""Pacing: limits per destination and coalesced card edits."""

import asyncio
import tracemalloc

import pytest

from bot.pacing import Coalescer
from bot.telegram.outbox import Outbox
from escalation.pacing import Limit, RateLimiter


class ManualTime:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


async def test_second_message_to_same_channel_waits_a_second():
    clock = ManualTime()
    limiter = RateLimiter([Limit("chat:", 1, 1.0)], now=clock.now, sleep=clock.sleep)
    assert await limiter.acquire("chat:A") == 0
    assert await limiter.acquire("chat:B") == 0  # another channel is not held up
    assert await limiter.acquire("chat:A") == 1.0


async def test_group_cap_of_twenty_per_minute():
    clock = ManualTime()
    limiter = RateLimiter([Limit("group:", 20, 60.0)], now=clock.now, sleep=clock.sleep)
    for _ in range(20):
        await limiter.acquire("group:G")
    assert clock.t == 0
    await limiter.acquire("group:G")
    assert clock.t == 60.0


async def test_retry_after_blocks_the_key():
    clock = ManualTime()
    limiter = RateLimiter([], now=clock.now, sleep=clock.sleep)
    limiter.block("chat:A", 7)
    assert await limiter.acquire("chat:A") == 7
    assert await limiter.acquire("chat:B") == 0


async def test_storm_of_edits_coalesces_and_keeps_the_last():
    coalescer = Coalescer()
    seen: list[int] = []
    gate = asyncio.Event()

    def job(n: int):
        async def run() -> None:
            await gate.wait()
            seen.append(n)
        return run

    for n in range(10):
        coalescer.submit("card:1", job(n))
        await asyncio.sleep(0)
    gate.set()
    await coalescer.drain()
    assert seen == [0, 9]


async def test_a_busy_key_does_not_hold_up_another_key():
    limiter = RateLimiter([Limit("chat:", 1, 0.5)])
    await limiter.acquire("chat:A")
    busy = asyncio.create_task(limiter.acquire("chat:A"))  # waits about half a second
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    assert await limiter.acquire("chat:B") == 0
    assert asyncio.get_running_loop().time() - started < 0.1
    assert await busy > 0


async def test_destinations_idle_past_their_window_are_forgotten():
    """Replying once to each of thousands of strangers' chats must not keep a record of every one."""
    clock = ManualTime()
    limiter = RateLimiter([Limit("chat:", 1, 1.0), Limit("group:", 20, 60.0)], now=clock.now, sleep=clock.sleep)
    for i in range(10_000):
        await limiter.acquire(f"chat:{i}")
        limiter.block(f"chat:{i}", 0.5)
        clock.t += 0.01
    assert limiter.remembered() <= 400  # about 100 chats are inside their one-second window
    await limiter.acquire("chat:9999")
    assert clock.sleeps == [pytest.approx(0.99)]  # the ones inside it still wait


async def test_the_telegram_outbox_keeps_nothing_for_each_chat_it_answered():
    """Thousands of strangers answered once each must not leave memory behind per chat."""
    outbox = Outbox(bot=None, limits=[Limit("chat:", 1, 0.001)])  # a 1 ms window: every chat goes idle at once

    async def sent() -> None:
        return None

    for chat_id in range(300):  # warm up whatever a first call allocates
        await outbox.call(chat_id, sent)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for chat_id in range(1000, 6000):
            await outbox.call(chat_id, sent)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes kept for 5,000 chats"


async def _paced(limits, sends: int) -> float:
    """How long ``sends`` messages to one destination take under ``limits``, as the dispatcher paces them."""
    clock = ManualTime()
    limiter = RateLimiter(limits, now=clock.now, sleep=clock.sleep)
    for _ in range(sends):
        await limiter.acquire(*(limit.scope for limit in limits))
    return clock.t


@pytest.mark.parametrize(("channel", "address", "sends", "seconds"), [
    ("slack", "CPAYMENTS", 3, 2.0),  # one a second per channel
    ("telegram", "4242", 25, 24.0),  # one a second per chat
    ("telegram", "-100200", 21, 60.0),  # and 20 a minute per group
    ("email", "ana@example.com", 6, 1.0),  # five a second per address
])
async def test_each_platform_declares_the_pace_of_one_destination(channel, address, sends, seconds):
    from bot.platforms import LIMITS

    assert await _paced(LIMITS[channel](address), sends) == seconds
    assert "webhook" not in LIMITS  # unpaced: the gateway's Retry-After decides
