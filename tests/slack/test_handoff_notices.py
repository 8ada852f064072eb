"""Handoff notices through the real Slack sender against the fake Slack API, on a fake clock, on both databases:
a DM to the incoming person at the 09:00 Lisbon handoff, a reminder an hour before, a line in the team's
channel, a failed DM kept and retried, and two processes sending one DM."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from bot import bootstrap
from bot.bootstrap import Parts
from bot.config_file import TocsinConfig
from storage.models import Notification
from tests.core.test_oncall_commands import PAYMENTS
from tests.escalation.conftest import store_schedules
from tests.fakes.slack_api import Fault

# The fake clock starts at Sun 2026-11-22 03:00 UTC (03:00 in Lisbon, winter time): the responder's week; the
# team lead's starts at Mon 23 Nov 09:00 Lisbon and runs to Mon 30 Nov 09:00.
PARTS = Parts(slack=True, escalation="scheduler")
NOTICED = replace(PAYMENTS, notify_channel=True)
REMINDED = replace(PAYMENTS, remind_before=timedelta(hours=1))
HANDOFF = "You are on call for payments-primary until Mon 30 Nov 09:00 Europe/Lisbon"


@pytest.fixture
def parts() -> Parts:
    return PARTS


async def _step(container, clock, **delta) -> int:
    """Move the clock, write the due notices, deliver the outbox; how many notices were written."""
    clock.advance(**delta)
    written = await container.paging.handoffs.run_once()
    await container.paging.dispatcher.drain()
    return written


def _texts(fake, channel: str) -> list[str]:
    return [m.text for m in fake.messages_in(channel)]


async def test_the_incoming_person_gets_one_dm_at_the_handoff_and_the_channel_a_line(container, people, clock,
                                                                                   fake_slack):
    await store_schedules(container, NOTICED)
    assert await _step(container, clock) == 0
    assert await _step(container, clock, hours=29, minutes=59) == 0  # Mon 08:59 Lisbon
    assert _texts(fake_slack, "DUTEAM_LEAD") == []
    assert await _step(container, clock, minutes=1) == 2  # Mon 09:00 Lisbon: the handoff
    assert _texts(fake_slack, "DUTEAM_LEAD") == [HANDOFF]
    assert _texts(fake_slack, "CPAYMENTS") == [
        "payments-primary: team_lead@example.com is on call now, until Mon 30 Nov 09:00 Europe/Lisbon"]
    assert await _step(container, clock, minutes=5) == 0  # already sent: not again
    assert _texts(fake_slack, "DUTEAM_LEAD") == [HANDOFF] and _texts(fake_slack, "DURESPONDER") == []


async def test_a_reminder_goes_an_hour_before_the_shift(container, people, clock, fake_slack):
    await store_schedules(container, REMINDED)
    assert await _step(container, clock, hours=28, minutes=59) == 0  # Mon 07:59
    assert await _step(container, clock, minutes=1) == 1  # Mon 08:00
    assert _texts(fake_slack, "DUTEAM_LEAD") == [
        "Reminder: you are on call for payments-primary from Mon 23 Nov 09:00 Europe/Lisbon until "
        "Mon 30 Nov 09:00 Europe/Lisbon"]
    assert await _step(container, clock, minutes=30) == 0
    assert await _step(container, clock, minutes=30) == 1  # 09:00: the handoff itself (a DM; no channel line)
    assert _texts(fake_slack, "DUTEAM_LEAD")[1:] == [HANDOFF] and _texts(fake_slack, "CPAYMENTS") == []


async def test_a_dm_slack_refuses_is_kept_counted_and_retried(container, people, clock, fake_slack):
    def retries() -> float:
        return REGISTRY.get_sample_value("notifications_total", {"channel": "slack", "outcome": "retry"}) or 0.0

    await store_schedules(container, PAYMENTS)
    before = retries()
    fake_slack.fail("chat.postMessage", Fault(status=500))
    container.senders["slack"].out.max_attempts = 1
    assert await _step(container, clock, hours=30) == 1
    assert _texts(fake_slack, "DUTEAM_LEAD") == []
    async with container.db.sessions() as session:
        (row,) = await session.scalars(select(Notification))
    assert (row.kind, row.status, row.target) == ("oncall", "PENDING", "team_lead@example.com") and row.last_error
    assert retries() == before + 1
    assert await _step(container, clock, seconds=5) == 0  # the backoff is over: sent again, once
    assert _texts(fake_slack, "DUTEAM_LEAD") == [HANDOFF]


async def test_two_processes_send_one_dm(container, people, clock, fake_slack, settings):
    await store_schedules(container, PAYMENTS)
    other = bootstrap.build(settings, TocsinConfig(), clock, parts=PARTS)
    try:
        clock.advance(hours=30)  # Mon 09:00 Lisbon
        written = await asyncio.gather(container.paging.handoffs.run_once(), other.paging.handoffs.run_once())
        assert sorted(written) == [0, 1]
        await asyncio.gather(container.paging.dispatcher.drain(), other.paging.dispatcher.drain())
    finally:
        await other.close()
    assert _texts(fake_slack, "DUTEAM_LEAD") == [HANDOFF]
