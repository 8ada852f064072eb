"""``/incident oncall [team]`` through the shared executor and the shell: now, next handoff, 7 days, role-gated."""

from __future__ import annotations

from datetime import date, time

from bot.commands.execute import run_text
from bot.shell.main import sign_in
from bot.shell.session import Session
from storage.oncall import Layer, Rule, Schedule
from tests.escalation.conftest import store_schedules
from tests.fakes.terminal import FakeTerminal

# The fake clock starts at Sun 2026-11-22 03:00 UTC (03:00 in Lisbon, winter time).
PAYMENTS = Schedule("payments-primary", "payments", "Europe/Lisbon", (
    Layer("weekly", ("responder@example.com", "team_lead@example.com"), Rule("weekly", at=time(9), weekday=0),
          date(2026, 11, 2)),))
PLATFORM = Schedule("platform-primary", "platform", "UTC", (
    Layer("daily", ("outsider@example.com",), Rule("daily", at=time(9)), date(2026, 11, 2)),))


async def test_oncall_says_who_now_the_next_handoff_and_the_week(container, people):
    await store_schedules(container, PAYMENTS, PLATFORM)
    reply = await run_text(container, people.slack("observer"), "oncall payments")
    assert not reply.error, reply.text
    lines = reply.text.splitlines()
    # Weeks from Mon 2 Nov: responder, team lead, responder, then the team lead from Mon 23 Nov 09:00.
    assert lines[0] == ("payments-primary (team payments): responder@example.com is on call now, "
                        "until Mon 23 Nov 09:00 WET")
    assert lines[1] == "  next: team_lead@example.com from Mon 23 Nov 09:00 WET"
    assert lines[3] == "    Sun 22 Nov 03:00 WET to Mon 23 Nov 09:00 WET: responder@example.com"
    assert lines[4] == "    Mon 23 Nov 09:00 WET to Sun 29 Nov 03:00 WET: team_lead@example.com"
    assert "platform-primary" not in reply.text


async def test_oncall_without_a_team_shows_only_readable_schedules(container, people):
    await store_schedules(container, PAYMENTS, PLATFORM)
    mine = await run_text(container, people.slack("responder"), "oncall")
    assert "payments-primary" in mine.text and "platform-primary" not in mine.text
    everything = await run_text(container, people.slack("admin"), "oncall")
    assert "payments-primary" in everything.text and "platform-primary" in everything.text


async def test_oncall_of_another_team_is_refused_and_an_unknown_team_named(container, people):
    await store_schedules(container, PAYMENTS, PLATFORM)
    refused = await run_text(container, people.slack("outsider"), "oncall payments")
    assert refused.error and "has no role in team payments" in refused.text
    unknown = await run_text(container, people.slack("admin"), "oncall nope")
    assert unknown.error and "nope" in unknown.text


async def test_oncall_without_schedules_says_where_they_are_set(container, people):
    reply = await run_text(container, people.slack("responder"), "oncall")
    assert not reply.error and "schedules: section" in reply.text


async def test_the_shell_answers_oncall(container, people):
    session = Session(container, await sign_in(container, "responder@example.com"), terminal := FakeTerminal())
    try:
        await store_schedules(container, PAYMENTS)
        assert await session.handle("oncall")
        assert "responder@example.com is on call now" in terminal.texts("reply")[-1]
    finally:
        await session.stop()
