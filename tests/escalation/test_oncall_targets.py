"""Policy steps that page ``oncall:<schedule>``: the person on call when the step runs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, time

from storage.oncall import Layer, Rule, Schedule
from tests.escalation.conftest import steps, store_schedules, use_policy

# The fake clock starts at 2026-11-22 03:00 UTC: the responder's day; the team lead takes over at 03:10.
SCHEDULE = Schedule("payments-primary", "payments", "UTC", (
    Layer("daily", ("responder@example.com", "team_lead@example.com"), Rule("daily", at=time(3, 10)),
          date(2026, 11, 1)),))


async def test_a_handoff_between_the_start_and_the_step_pages_the_new_person(container, people, paging, tick,
                                                                             senders, clock):
    await store_schedules(container, SCHEDULE)
    await use_policy(container, "oncall", [900, 960], notify=["oncall:payments-primary"])
    async with container.db.transaction() as session:  # the second step pages whoever is on call next
        from sqlalchemy import select

        from storage.models import EscalationPolicy
        row = await session.scalar(select(EscalationPolicy).where(EscalationPolicy.name == "oncall"))
        row.steps = {"steps": [row.steps["steps"][0], {**row.steps["steps"][1],
                                                       "notify": ["oncall:payments-primary:next"]}]}
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                      severity="high")
    assert await tick(minutes=15) == 1  # 03:15: the team lead has been on call since 03:10
    assert [s.destination.address for s in senders["slack"].sent] == ["UTEAM_LEAD"]
    assert await tick(minutes=1) == 1  # next: the responder again, from tomorrow's 03:10
    assert [s.destination.address for s in senders["slack"].sent][1:] == ["URESPONDER"]
    assert [r.status for r in await steps(container)] == ["EXECUTED", "EXECUTED"]


async def test_an_unknown_schedule_is_a_note_not_a_crash(container, people, paging, tick, senders):
    await use_policy(container, "oncall", [60], notify=["oncall:nope"])
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                      severity="high")
    await tick(minutes=1)
    (step,) = await steps(container)
    assert "oncall:nope: no such schedule" in (step.note or "")
    assert senders["slack"].sent == []


async def test_an_override_made_after_the_incident_opened_is_paged(container, people, paging, tick, senders):
    from bot.commands.execute import run_text

    await store_schedules(container, SCHEDULE)
    await use_policy(container, "oncall", [900], notify=["oncall:payments-primary"])
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                      severity="high")
    made = await run_text(container, people.slack("team_lead"),
                          "oncall override payments-primary manager@example.com 1h for team_lead@example.com")
    assert not made.error, made.text
    assert await tick(minutes=15) == 1  # 03:15: the team lead's shift, but the manager covers it
    assert [s.destination.address for s in senders["slack"].sent] == ["UMANAGER"]


async def test_the_preview_names_whoever_will_be_on_call_when_each_step_runs(container, people, paging, senders):
    from bot.commands.execute import run_text

    await store_schedules(container, SCHEDULE)
    await use_policy(container, "oncall", [60, 900], notify=["oncall:payments-primary"])
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                      severity="high")
    reply = await run_text(container, people.slack("responder"), "escalate preview 1")
    assert not reply.error, reply.text
    first, second = reply.text.splitlines()[1:3]
    assert "in 60s" in first and "Responder (slack)" in first  # 03:01: the responder's shift
    assert "in 15m" in second and "Team Lead (slack)" in second  # 03:15: after the 03:10 handoff
    assert senders["slack"].sent == []  # a preview pages nobody
