"""A hand escalation on ``tocsin sidecar`` (``POST /api/incidents/N/escalate``) runs the next step there, at
once, and plans its pages on the channels ``tocsin serve`` sends on: the sidecar sends nothing itself, serve's
dispatcher sends what the outbox holds. (It skipped the step with "nobody to page": the sidecar has no
sender of its own.)"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.settings import Settings
from tests.escalation.conftest import notifications, steps, use_policy


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A sidecar beside a serve that has Slack (the same environment: the token is set, Slack is not run)."""
    return replace(settings, slack_bot_token="xoxb-serve-has-slack")


async def test_a_hand_escalation_on_a_sidecar_pages_on_the_channels_serve_sends_on(http, as_token, container):
    await use_policy(container, "by-hand", [300, 300], channels=("slack",), notify=("role:team_lead",))
    declared = await http.post("/api/incidents", json={"title": "Checkout down", "team": "payments"},
                               headers=as_token("responder"))
    assert declared.status_code == 201, declared.text
    escalated = await http.post("/api/incidents/1/escalate", headers=as_token("responder"))
    assert escalated.status_code == 200, escalated.text
    [step, *_] = await steps(container, 1)
    assert step.status == "EXECUTED", step.note
    [page] = await notifications(container)
    assert (page.channel, page.address, page.status) == ("slack", "UTEAM_LEAD", "PENDING")
