"""``/incident oncall override|overrides|cancel`` through the shared executor and the shell: an override wins,
an override of an override wins over it, role-gated, audited, and bad input is named."""

from __future__ import annotations

from sqlalchemy import select

from bot.commands.execute import run_text
from bot.shell.main import sign_in
from bot.shell.session import Session
from storage.models import OncallOverride, OncallOverrideEvent
from tests.core.test_oncall_commands import PAYMENTS, PLATFORM
from tests.escalation.conftest import store_schedules
from tests.fakes.terminal import FakeTerminal

# The fake clock starts at Sun 2026-11-22 03:00 UTC; the responder is on call until Mon 23 Nov 09:00 WET.


async def _events(container) -> list[tuple]:
    async with container.db.sessions() as session:
        rows = await session.scalars(select(OncallOverrideEvent).order_by(OncallOverrideEvent.id))
        return [(e.override_id, e.kind, e.actor_name, e.data["schedule"]) for e in rows]


async def test_an_override_for_oneself_puts_them_on_call_and_is_audited(container, people):
    await store_schedules(container, PAYMENTS)
    made = await run_text(container, people.slack("team_lead"), "oncall override payments-primary me 4h")
    assert not made.error and not made.ephemeral, made.text
    assert made.text == ("Override 1: team_lead@example.com is on call for payments-primary from Sun 22 Nov 03:00 WET "
                         "to Sun 22 Nov 07:00 WET. Undo: /incident oncall cancel 1")
    lines = (await run_text(container, people.slack("observer"), "oncall payments")).text.splitlines()
    assert lines[0] == ("payments-primary (team payments): team_lead@example.com is on call now, "
                        "until Sun 22 Nov 07:00 WET")
    assert lines[1] == "  next: responder@example.com from Sun 22 Nov 07:00 WET"
    assert lines[3] == "    Sun 22 Nov 03:00 WET to Sun 22 Nov 07:00 WET: team_lead@example.com (override)"
    assert await _events(container) == [(1, "created", "Team Lead", "payments-primary")]


async def test_an_override_of_an_override_wins_and_cancelling_it_uncovers_the_first(container, people):
    await store_schedules(container, PAYMENTS)
    lead = people.slack("team_lead")
    await run_text(container, lead, "oncall override payments-primary me 4h")
    second = await run_text(container, lead, "oncall override payments-primary manager@example.com "
                                             "2026-11-22T04:00 2026-11-22T05:00 for team_lead@example.com")
    assert second.text.startswith("Override 2: manager@example.com is on call for payments-primary instead of "
                                  "team_lead@example.com from Sun 22 Nov 04:00 WET to Sun 22 Nov 05:00 WET")
    week = (await run_text(container, lead, "oncall payments")).text
    assert "Sun 22 Nov 04:00 WET to Sun 22 Nov 05:00 WET: manager@example.com (override)" in week
    assert "Sun 22 Nov 05:00 WET to Sun 22 Nov 07:00 WET: team_lead@example.com (override)" in week
    listed = (await run_text(container, people.slack("observer"), "oncall overrides payments-primary")).text
    assert listed.splitlines()[1:] == [
        "  1. payments-primary: team_lead@example.com, Sun 22 Nov 03:00 WET to Sun 22 Nov 07:00 WET (by Team Lead)",
        "  2. payments-primary: manager@example.com instead of team_lead@example.com, Sun 22 Nov 04:00 WET to "
        "Sun 22 Nov 05:00 WET (by Team Lead)"]
    cancelled = await run_text(container, lead, "oncall cancel 2")
    assert not cancelled.error and "Override 2 of payments-primary cancelled" in cancelled.text
    assert "manager@example.com" not in (await run_text(container, lead, "oncall payments")).text
    assert "2." not in (await run_text(container, lead, "oncall overrides")).text
    again = await run_text(container, lead, "oncall cancel 2")
    assert again.error and "already cancelled" in again.text
    assert [e[:2] for e in await _events(container)] == [(1, "created"), (2, "created"), (2, "cancelled")]


async def test_others_need_team_lead_or_above_and_outsiders_nothing(container, people):
    await store_schedules(container, PAYMENTS, PLATFORM)
    refused = await run_text(container, people.slack("responder"),
                             "oncall override payments-primary manager@example.com 4h")
    assert refused.error and "responder in team payments" in refused.text and "team_lead or above" in refused.text
    covering = await run_text(container, people.slack("responder"),
                              "oncall override payments-primary me 1h for team_lead@example.com")
    assert covering.error and "team_lead or above" in covering.text  # naming someone else needs the role too
    outsider = await run_text(container, people.slack("outsider"), "oncall override payments-primary me 1h")
    assert outsider.error and "has no role in team payments" in outsider.text
    observer = await run_text(container, people.slack("observer"), "oncall override payments-primary me 1h")
    assert not observer.error, observer.text  # anyone in the team may put themselves on call
    cancel = await run_text(container, people.slack("responder"), "oncall cancel 1")
    assert cancel.error and "team_lead or above" in cancel.text
    admin = await run_text(container, people.slack("admin"), "oncall override platform-primary admin@example.com 1h")
    assert not admin.error, admin.text
    async with container.db.sessions() as session:
        assert (await session.scalars(select(OncallOverride.person_id))).all() == [people.ids["observer"],
                                                                                   people.ids["admin"]]
    assert [e[1:3] for e in await _events(container)] == [("created", "Observer"), ("created", "Admin")]


async def test_bad_overrides_are_named_and_change_nothing(container, people):
    await store_schedules(container, PAYMENTS)
    lead = people.slack("team_lead")
    cases = {
        "oncall override payments-primary me forever": "'forever' is not a duration",
        "oncall override payments-primary me 0h": "duration above zero",
        "oncall override nope me 4h": "there is no on-call schedule 'nope' (known: payments-primary)",
        "oncall override payments-primary ghost@example.com 4h": "ghost@example.com is not an active Tocsin person",
        "oncall override payments-primary someone 4h": "I can't tell who 'someone' is",
        "oncall override payments-primary me 2026-11-23T09:00 2026-11-23T08:00": "ends (2026-11-23T08:00:00+00:00) "
                                                                                 "before it starts",
        "oncall override payments-primary me 2026-11-20T09:00 2026-11-21T09:00": "would be over already",
        "oncall override payments-primary me tomorrow 2026-11-23T08:00": "'tomorrow' is not an ISO time",
        "oncall override payments-primary me": "needs a schedule, a person and a duration",
        "oncall cancel x": "'oncall cancel' needs the override's number",
        "oncall cancel 9": "there is no on-call override 9",
    }
    for text, expected in cases.items():
        reply = await run_text(container, lead, text)
        assert reply.error and expected.lower() in reply.text.lower(), (text, reply.text)
    assert await _events(container) == []


async def test_the_shell_puts_its_person_on_call(container, people):
    session = Session(container, await sign_in(container, "team_lead@example.com"), terminal := FakeTerminal())
    try:
        await store_schedules(container, PAYMENTS)
        assert await session.handle("oncall override payments-primary me 2h")
        assert "Override 1: team_lead@example.com is on call" in terminal.texts("reply")[-1]
        assert await session.handle("oncall payments")
        assert "team_lead@example.com is on call now, until Sun 22 Nov 05:00 WET" in terminal.texts("reply")[-1]
    finally:
        await session.stop()
