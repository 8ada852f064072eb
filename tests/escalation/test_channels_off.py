"""A team whose chats are on platforms this process has no sender for (no token) is told apart from a team
without chats: the ledger says which chat was not paged and why."""

from __future__ import annotations

import pytest

from tests.escalation.conftest import steps
from tests.escalation.fakes import RecordingSender


@pytest.fixture
def fake_senders() -> dict[str, RecordingSender]:
    return {"email": RecordingSender("email")}  # Slack and Telegram off: no tokens


async def test_a_team_channel_on_platforms_that_are_off_says_so(container, people, paging, tick):
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments")
    await tick(minutes=5)
    [first, *_] = await steps(container)
    assert first.status == "SKIPPED"
    assert "its chat on slack, telegram was not paged: not configured in this Tocsin" in first.note
    assert "has no chat" not in first.note


async def test_only_the_chats_the_team_has_are_named(container, people, paging, tick):
    await container.incidents.declare(people.slack("admin"), "Platform storage", team="platform")
    await tick(minutes=5)
    [first, *_] = await steps(container)
    assert "its chat on slack was not paged" in first.note and "telegram" not in first.note  # Slack only
