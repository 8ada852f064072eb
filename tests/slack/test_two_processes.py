"""Two ``tocsin serve`` processes with Slack on one database post each card once (item 8 of issue 11).

Two full app instances (each its own container, connections, bus, card syncer and Slack client) share the
database and the fake Slack; a third container without Slack declares the incidents, as a sidecar would.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack

from bot import bootstrap
from bot.app import create_app
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.settings import Settings
from tests.slack.conftest import slack_settings

INCIDENTS = 10  # five per channel: at Slack's pace of one post per second per channel, a few seconds


async def serve(stack: AsyncExitStack, container: Container):
    app = create_app(container, migrate=False)
    await stack.enter_async_context(app.router.lifespan_context(app))
    return container.slack


async def test_two_processes_post_exactly_one_card_per_incident_and_channel(container, people, clock, fake_slack):
    second = bootstrap.build(slack_settings(container.settings.database_url, fake_slack), TocsinConfig(), clock,
                             parts=bootstrap.Parts(slack=True))
    sidecar = bootstrap.build(Settings(database_url=container.settings.database_url, scheduler=False),
                              TocsinConfig(), clock)
    fake_slack.delay = 0.02  # a little slow, as a real Slack is: both processes look before either posts
    async with AsyncExitStack() as stack:
        stack.push_async_callback(second.close)
        stack.push_async_callback(sidecar.close)
        runtimes = [await serve(stack, container), await serve(stack, second)]
        marks = [await r.cards.sweep(None) for r in runtimes]
        for i in range(INCIDENTS):
            team = ("payments", "platform")[i % 2]
            await sidecar.incidents.declare(people.slack("admin"), f"Disk full {i}", team=team)
        await asyncio.gather(*(r.cards.sweep(m) for r, m in zip(runtimes, marks, strict=True)))
        await asyncio.gather(*(r.idle() for r in runtimes))

    cards = Counter((m.channel, m.text.split(" ")[0]) for m in fake_slack.messages if m.thread_ts is None)
    expected = {("CPAYMENTS" if n % 2 else "CPLATFORM", f"#{n}"): 1 for n in range(1, INCIDENTS + 1)}
    assert dict(cards) == expected
