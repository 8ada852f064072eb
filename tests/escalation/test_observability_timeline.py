"""/incident timeline shows the escalation ledger: each step, whom it names, when it is due and what became
of it, through the shared executor and as Slack and Telegram render it."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.bootstrap import CORE
from bot.commands.execute import run_text
from bot.slack.render import render_reply
from bot.telegram.render import render_reply_html
from storage.models import EscalationPolicy
from tests.escalation.conftest import use_policy


async def _two_incidents(container, people, tick) -> None:
    """#1: level 1 ran 12 s late, then an acknowledgement cancelled levels 2 and 3. #2: level 1 run early
    by hand, levels 2 and 3 pending."""
    responder = people.slack("responder")
    await container.incidents.declare(responder, "Checkout down", team="payments")
    assert await tick(minutes=5, seconds=12) == 1  # 03:05:12
    await container.incidents.acknowledge(1, responder)
    await container.incidents.declare(responder, "Queue backlog", team="payments")
    await container.incidents.escalate(2, responder)
    await tick()


async def test_timeline_lists_executed_cancelled_and_pending_steps(container, people, paging, tick):
    await _two_incidents(container, people, tick)
    first = await run_text(container, people.slack("observer"), "timeline 1")
    assert not first.error and first.timeline
    assert first.ledger == (
        "step 1 (team_channel) due 03:05 UTC: executed 12s late, 2 notifications (2 sent)",
        "step 2 (role:team_lead) due 03:15 UTC: cancelled: incident acknowledged",
        "step 3 (role:manager) due 04:00 UTC: cancelled: incident acknowledged",
    )
    second = await run_text(container, people.telegram("observer"), "timeline 2")
    assert second.ledger == (
        "step 1 (team_channel) due 03:10 UTC: run early by Responder, 2 notifications (2 sent)",
        "step 2 (role:team_lead) due 03:20 UTC: pending",
        "step 3 (role:manager) due 04:05 UTC: pending",
    )


async def test_timeline_of_a_repeating_policy_names_the_repeat_and_the_day(container, people, paging):
    await use_policy(container, "nightly", [3600 * 22])
    async with container.db.transaction() as session:
        await session.execute(update(EscalationPolicy).where(EscalationPolicy.name == "nightly").values(repeat=1))
    await container.incidents.declare(people.slack("responder"), "Slow burn", team="payments")
    reply = await run_text(container, people.slack("observer"), "timeline 1")
    assert reply.ledger == (
        "step 1 (team_channel) due 23 Nov 01:00 UTC: pending",
        "step 1 of repeat 1 (team_channel) due 23 Nov 23:00 UTC: pending",
    )


async def test_slack_and_telegram_show_the_ledger_after_the_timeline(container, people, paging, tick):
    await _two_incidents(container, people, tick)
    reply = await run_text(container, people.slack("observer"), "timeline 1")
    blocks = render_reply(reply)["blocks"]
    ledger = blocks[-1]["text"]["text"]
    assert ledger.startswith("*Escalation steps*\n")
    assert "step 1 (team_channel) due 03:05 UTC: executed 12s late" in ledger
    assert "Acknowledged by" in blocks[-2]["text"]["text"]  # the timeline comes first
    html = render_reply_html(reply)
    assert "<b>Escalation steps</b>\nstep 1 (team_channel) due 03:05 UTC: executed 12s late" in html
    assert html.index("acknowledged") < html.index("Escalation steps")


@pytest.mark.parametrize("parts", [CORE], ids=["no escalation"])  # the process has no ledger hook
async def test_an_incident_without_a_ledger_shows_no_escalation_section(container, people):
    await container.incidents.declare(people.slack("responder"), "No hook here", team="payments")
    reply = await run_text(container, people.slack("observer"), "timeline 1")
    assert not reply.error and reply.ledger == ()
    assert "Escalation steps" not in render_reply_html(reply)
