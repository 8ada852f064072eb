"""The escalation ledger and step job, driven by a fake clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError

from bot.platforms import CHANNELS
from storage.models import EscalationStep
from tests.escalation.conftest import notifications, start_telegram, steps


async def declare(container, people, severity="high"):
    return await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                             severity=severity)


async def test_declaring_writes_the_default_policy_ledger(container, people, paging, clock):
    await declare(container, people)
    rows = await steps(container)
    assert [(r.step, r.status, (r.due_at - clock.now()).total_seconds()) for r in rows] == [
        (0, "PENDING", 300), (1, "PENDING", 900), (2, "PENDING", 3600)]
    assert (await container.queries.get(1)).escalation_policy == "default"


async def test_unacknowledged_incident_pages_by_role_at_the_right_times(container, people, paging, tick, senders,
                                                                         clock):
    await start_telegram(container, clock, "manager@example.com")
    await declare(container, people)
    assert await tick(minutes=4, seconds=59) == 0
    assert senders["slack"].sent == []

    assert await tick(seconds=1) == 1
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS"]
    assert [s.destination.address for s in senders["telegram"].sent] == ["-100200"]
    view = await container.queries.get(1)
    assert view.status == "escalating" and view.escalation_level == 1

    assert await tick(minutes=9, seconds=59) == 0
    assert await tick(seconds=1) == 1
    assert [s.destination.address for s in senders["slack"].sent][1:] == ["UTEAM_LEAD"]
    lead_page = (await notifications(container, reason="step:0:1", channel="slack"))[0]
    assert lead_page.status == "SENT" and lead_page.reference == "slack-2"
    assert "telegram" in (await steps(container))[1].note  # the lead never started the Telegram bot

    assert await tick(minutes=45) == 1
    assert [s.destination.address for s in senders["slack"].sent][2:] == ["UMANAGER"]
    assert [s.destination.address for s in senders["telegram"].sent][1:] == ["1005"]
    assert [s.destination.address for s in senders["email"].sent] == ["manager@example.com"]
    assert [r.status for r in await steps(container)] == ["EXECUTED"] * 3
    assert (await container.queries.get(1)).escalation_level == 3
    timeline = await container.queries.timeline(1)
    assert [e.kind for e in timeline].count("escalated") == 3
    assert all(e.actor_source == "scheduler" for e in timeline if e.kind == "escalated")


async def test_acknowledging_between_steps_cancels_the_rest(container, people, paging, tick, senders):
    await declare(container, people)
    await tick(minutes=5)
    await container.incidents.acknowledge(1, people.slack("responder"))
    assert [r.status for r in await steps(container)] == ["EXECUTED", "CANCELLED", "CANCELLED"]
    assert await tick(hours=3) == 0
    pages = [s for s in senders["slack"].sent if s.page.kind == "page"]
    assert [p.destination.address for p in pages] == ["CPAYMENTS"]


async def test_closing_notice_goes_to_everyone_paged_in_their_thread(container, people, paging, tick, senders):
    await declare(container, people)
    await tick(minutes=5)  # the team channel
    await tick(minutes=10)  # the team lead
    await container.incidents.resolve(1, people.slack("team_lead"), "rolled back")
    await tick(seconds=1)
    notices = [s for s in senders["slack"].sent if s.page.kind == "notice"]
    assert sorted(n.destination.address for n in notices) == ["CPAYMENTS", "UTEAM_LEAD"]
    pages = {s.destination.address: s.reference for s in senders["slack"].sent if s.page.kind == "page"}
    assert all(n.destination.thread == pages[n.destination.address] for n in notices)
    assert all("resolved by Team Lead" in n.page.text for n in notices)
    telegram_notice = [s for s in senders["telegram"].sent if s.page.kind == "notice"]
    assert [n.destination.address for n in telegram_notice] == ["-100200"]


async def test_acknowledge_then_resolve_sends_one_notice_each(container, people, paging, tick, senders):
    await declare(container, people)
    await tick(minutes=5)
    await container.incidents.acknowledge(1, people.slack("responder"))
    await container.incidents.acknowledge(1, people.slack("team_lead"))  # a no-op: no second notice
    await container.incidents.resolve(1, people.slack("responder"))
    await tick(seconds=1)
    texts = sorted(s.page.text for s in senders["slack"].sent if s.page.kind == "notice")
    # Pacing is off in these tests, so the two notices may go out concurrently; order per destination
    # comes from pacing (tests/escalation/test_dispatcher.py), not from this test.
    assert len(texts) == 2
    assert sum("acknowledged by Responder" in t for t in texts) == 1 and sum("resolved" in t for t in texts) == 1


async def test_manual_escalate_runs_the_next_step_now(container, people, paging, tick, senders):
    await declare(container, people)
    result = await container.incidents.escalate(1, people.slack("responder"))
    assert result.incident.escalation_level == 1
    await tick(seconds=1)
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS"]
    rows = await steps(container)
    assert rows[0].status == "EXECUTED" and rows[0].late_by_seconds is None and "Responder" in rows[0].executed_by
    await container.incidents.escalate(1, people.slack("responder"))
    await tick(seconds=1)
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS", "UTEAM_LEAD"]
    assert await tick(minutes=15) == 0  # the steps already run are not run again
    assert await tick(minutes=45) == 1


async def test_snooze_holds_the_steps_and_keeps_their_spacing(container, people, paging, tick, senders, clock):
    await declare(container, people)
    start = clock.now()
    await tick(minutes=2)
    await container.incidents.snooze(1, people.slack("responder"), __import__("datetime").timedelta(minutes=30))
    rows = await steps(container)
    assert [(r.due_at - start).total_seconds() / 60 for r in rows] == [32, 42, 87]
    assert await tick(minutes=29) == 0
    assert await tick(minutes=1) == 1
    assert senders["slack"].sent[0].destination.address == "CPAYMENTS"


async def test_a_step_that_finds_the_incident_acknowledged_is_cancelled(container, people, paging, tick):
    await declare(container, people)
    paging_hook = container.incidents.hooks.pop()  # an acknowledgement from a process without the hook
    await container.incidents.acknowledge(1, people.slack("responder"))
    container.incidents.hooks.append(paging_hook)
    assert await tick(minutes=5) == 1
    rows = await steps(container)
    assert rows[0].status == "CANCELLED" and "acknowledged" in rows[0].note
    assert await notifications(container) == []


async def test_step_is_recorded_late_when_run_late(container, people, paging, tick, senders):
    await declare(container, people)
    await tick(minutes=7)
    rows = await steps(container)
    assert rows[0].late_by_seconds == 120
    overdue = await notifications(container, reason="overdue:0:0")
    assert {n.channel for n in overdue} == {"slack", "telegram"} and "overdue" in overdue[0].message


async def test_preferences_fall_back_to_an_accepted_channel(container, people, paging, tick, senders, clock):
    from escalation import prefs

    async with container.db.transaction() as session:
        await prefs.set_channel(session, people.ids["team_lead"], "slack", False, clock.now(), CHANNELS)
    await declare(container, people)
    await tick(minutes=5)
    await tick(minutes=10)
    lead = await notifications(container, reason="step:0:1")
    assert [(n.channel, n.address) for n in lead] == [("email", "team_lead@example.com")]
    assert "fell back to email" in lead[0].note and "slack not accepted" in lead[0].note


async def test_incident_without_a_team_skips_steps_with_nobody_to_page(container, people, paging, tick):
    await container.incidents.declare(people.slack("admin"), "No team")
    await tick(minutes=5)
    rows = await steps(container)
    assert rows[0].status == "SKIPPED" and "nobody to page" in rows[0].note
    assert (await container.queries.get(1)).status == "open"


async def test_ledger_rows_are_never_deleted(container, people, paging):
    await declare(container, people)
    with pytest.raises(DBAPIError):
        async with container.db.transaction() as session:
            await session.execute(delete(EscalationStep))
    assert len(await steps(container)) == 3


async def test_incidents_declared_without_the_hook_are_adopted(container, people, paging, tick, clock, senders):
    hook = container.incidents.hooks.pop()  # like the webhook sidecar, which does not load the paging surface
    await declare(container, people)
    container.incidents.hooks.append(hook)
    assert await steps(container) == []
    clock.advance(minutes=6)
    assert await paging.escalation.adopt() == 1
    assert await paging.escalation.adopt() == 0
    rows = await steps(container)
    assert [(r.due_at - rows[0].created_at).total_seconds() for r in rows] == [-60, 540, 3240]  # from creation
    assert await tick() == 1 and senders["slack"].sent[0].destination.address == "CPAYMENTS"


async def test_a_step_that_cannot_run_is_marked_failed_and_others_still_run(container, people, paging, tick, clock):
    from sqlalchemy import update

    from storage.models import EscalationPolicy

    async with container.db.transaction() as session:  # a row no config apply would write
        session.add(EscalationPolicy(name="broken", position=0, match={}, repeat=0, updated_at=clock.now(),
                                     steps={"steps": [{"after": 60, "notify": ["nobody"]}]}))
    await declare(container, people)
    await declare(container, people)
    async with container.db.transaction() as session:
        await session.execute(update(EscalationStep).where(EscalationStep.incident_id == 1).values(policy="broken"))
    await tick(minutes=5)  # a failing step may be tried by two claimers at once on PostgreSQL; both record it
    assert (await steps(container, 1))[0].status == "FAILED" and "not a target" in (await steps(container, 1))[0].note
    assert (await steps(container, 2))[0].status == "EXECUTED"


async def test_lateness_and_notification_outcomes_are_exported_to_prometheus(container, people, paging, tick):
    from prometheus_client import REGISTRY

    def sample(name, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    steps_before = sample("escalation_lateness_seconds_count")
    sent_before = sample("notifications_total", channel="slack", outcome="sent")
    await declare(container, people)
    await tick(minutes=7)  # two minutes late: the team channel also gets the overdue warning
    assert sample("escalation_lateness_seconds_count") == steps_before + 1
    assert sample("escalation_lateness_seconds_sum") >= 60
    assert sample("notifications_total", channel="slack", outcome="sent") == sent_before + 2  # page + overdue
