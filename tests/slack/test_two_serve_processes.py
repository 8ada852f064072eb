"""Two real ``tocsin serve`` processes with Slack on one PostgreSQL database post each card once (item 8 of
issue 11): incidents opened elsewhere (as by ``tocsin sidecar``) reach both through their sweeps."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage.actors import Actor, Source
from storage.clock import SystemClock
from tests.escalation.processes import Serve, Sink
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import SECRET, TOKEN

pytestmark = pytest.mark.postgres
INCIDENTS = 6  # at one post per second per channel, both processes are still posting when the other looks


async def test_two_serve_processes_post_one_card_per_incident(pg_url, tmp_path):
    config = tmp_path / "tocsin.yml"
    # six incidents at once would be a storm (docs/noise.md): this test is about one card each, so storms are off
    config.write_text("storm: {enabled: false}\nteams:\n  - {name: payments, slack_channel: CPAY}\n")
    core = bootstrap.build(Settings(database_url=pg_url, scheduler=False), TocsinConfig(), SystemClock())
    async with FakeSlack() as slack, Sink() as sink:
        servers = [Serve(pg_url, config, sink, tmp_path / f"serve{i}.log") for i in range(2)]
        for server in servers:
            server.env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.base_url)
        try:
            for server in servers:
                await server.start()
            for i in range(INCIDENTS):
                await core.incidents.declare(Actor.system(Source.CLI, "test"), f"Disk full {i}", team="payments")
            await slack.wait_for(lambda: len(slack.messages_in("CPAY")) >= INCIDENTS, within=40)
            await asyncio.sleep(3)  # a second copy of any card would be out by now
        finally:
            for server in servers:
                server.stop()
            await core.close()
    cards = Counter(m.text.split(" ")[0] for m in slack.messages_in("CPAY"))
    assert cards == Counter(f"#{n}" for n in range(1, INCIDENTS + 1))
