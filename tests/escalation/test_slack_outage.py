"""A Slack outage during an escalation, in real (scaled) time: the real slack_sdk and python-telegram-bot
clients against the fake APIs, the real timer and dispatcher. Retries capped at 0.5 s, failover after
1.5 s, Slack down for at least 8 s (bench/slack_outage.py runs the real 10 minutes with the production defaults)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from bot.app import create_app
from bot.bootstrap import Parts
from bot.settings import Settings
from storage.clock import SystemClock
from storage.models import EscalationPolicy, Team
from tests.escalation.conftest import start_telegram
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.slack.conftest import slack_settings
from tests.telegram.harness import GROUP, telegram_settings

OUTAGE, FAILOVER, CAP = 8.0, 1.5, 0.5


@pytest.fixture
def clock() -> SystemClock:
    return SystemClock()


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeTelegram]]:
    async with FakeSlack() as fake_slack, FakeTelegram() as fake_telegram:
        yield fake_slack, fake_telegram


@pytest.fixture
def settings(db_url, fakes) -> Settings:
    fake_slack, fake_telegram = fakes
    return telegram_settings(slack_settings(db_url, fake_slack, scheduler=True, notify_retry_cap=CAP,
                                            notify_failover_after=FAILOVER), fake_telegram)


@pytest.fixture
def parts() -> Parts:
    return Parts(slack=True, telegram=True, escalation="scheduler")


@pytest.fixture
def fake_senders() -> dict:
    return {}


def _pages(fake_slack: FakeSlack, channel: str, level: int) -> list[str]:
    """The pages of that level in ``channel``: on their own, or under the card and broadcast to the channel."""
    return [m.text for m in fake_slack.messages if m.channel == channel and f"escalation level {level}" in m.text]


def _cards(fake_slack: FakeSlack) -> list[str]:
    return [m.text for m in fake_slack.messages_in("CPAYMENTS") if m.text.startswith("#1 [")]


async def _until(condition, within: float, state=lambda: None) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < within, f"timed out; {state()}"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_a_slack_outage_during_an_escalation_loses_nothing_and_the_team_hears_of_it(container, people, fakes,
                                                                                          caplog):
    fake_slack, fake_telegram = fakes
    caplog.set_level(logging.WARNING)
    await start_telegram(container, container.clock, "team_lead@example.com", "manager@example.com")
    async with container.db.transaction() as session:
        session.add(EscalationPolicy(name="outage", position=0, match={}, repeat=0, updated_at=container.clock.now(),
                                     steps={"steps": [
                                         {"after": 1, "notify": ["team_channel"], "channels": ["slack", "telegram"]},
                                         {"after": 2, "notify": ["role:team_lead"], "channels": ["slack"]},
                                         {"after": 3, "notify": ["role:manager"], "channels": ["slack"]}]}))
        await session.execute(update(Team).where(Team.name == "payments").values(escalation_policy="outage"))
    app = create_app(container, migrate=False)
    async with app.router.lifespan_context(app):
        fake_slack.down, down_at = True, time.monotonic()
        await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
        # On time on Telegram, while Slack is down: the team chat's page at 1 s, then the failovers.
        # Slack stays down at least OUTAGE seconds, and until the team was told and the team lead and the
        # manager (paged by Slack DM only) were paged on Telegram: all of that happens while Slack is down.
        await _until(lambda: any(m.text.startswith("Slack is failing") for m in fake_telegram.messages_in(GROUP)), 20)
        await _until(lambda: fake_telegram.messages_in(1004) and fake_telegram.messages_in(1005), 20)
        # What was sent, not what the message reads now: the card sync may have edited the page's copy since.
        sent = [str(p.get("text", "")) for p in fake_telegram.calls_to("sendMessage") if str(p.get("chat_id")) == str(GROUP)]
        # Telegram kept its time: its level 1 page went out when due, before the failover machinery spoke.
        pages = [i for i, t in enumerate(sent) if "escalation level 1" in t]
        assert pages and pages[0] < next(i for i, t in enumerate(sent) if t.startswith("Slack is failing")), sent
        assert fake_slack.messages == []
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        fake_slack.down = False
        recovered = time.monotonic()

        def all_arrived() -> bool:
            return bool(_cards(fake_slack) and _pages(fake_slack, "CPAYMENTS", 1) and _pages(fake_slack, "DUTEAM_LEAD", 2)
                        and _pages(fake_slack, "DUMANAGER", 3))

        await _until(all_arrived, 30, lambda: [(m.channel, m.text[:50]) for m in fake_slack.messages])
        print(f"Slack pages and card {time.monotonic() - recovered:.1f} s after recovery")
        await asyncio.sleep(2 * CAP + 1)  # anything sent twice would show by now
    assert len(_cards(fake_slack)) == 1 and len(_pages(fake_slack, "CPAYMENTS", 1)) == 1
    assert len(_pages(fake_slack, "DUTEAM_LEAD", 2)) == 1 and len(_pages(fake_slack, "DUMANAGER", 3)) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3 and all(e.startswith("slack has not delivered page") for e in errors)
    assert container.settings.slack_bot_token not in caplog.text
    assert container.settings.telegram_bot_token not in caplog.text
