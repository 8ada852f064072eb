"""``/incident oncall offer|offers|take|cancel offer`` through the shared executor and the shell: a person offers
a shift, another takes it and is on call (an override, audited); role-gated, and bad input is named."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.commands.execute import run_text
from bot.platforms import SLACK
from bot.shell.main import sign_in
from bot.shell.session import Session
from storage.actors import Actor
from storage.models import OncallOfferEvent
from tests.core.test_oncall_commands import PAYMENTS, PLATFORM
from tests.core.test_oncall_overrides import _events as override_events
from tests.escalation.conftest import store_schedules
from tests.fakes.terminal import FakeTerminal

# The fake clock starts at Sun 2026-11-22 03:00 UTC; the responder is on call until Mon 23 Nov 09:00 WET, then
# the team lead for a week.


async def _events(container) -> list[tuple]:
    async with container.db.sessions() as session:
        rows = await session.scalars(select(OncallOfferEvent).order_by(OncallOfferEvent.id))
        return [(e.offer_id, e.kind, e.actor_name) for e in rows]


async def test_an_offered_shift_taken_puts_the_taker_on_call_and_is_audited(container, people):
    await store_schedules(container, PAYMENTS)
    offered = await run_text(container, people.slack("responder"), "oncall offer payments-primary next")
    assert not offered.error and not offered.ephemeral, offered.text
    assert offered.text == ("Offer 1: responder@example.com's shift of payments-primary, Sun 22 Nov 03:00 WET to "
                            "Mon 23 Nov 09:00 WET, is up for grabs. Take it: /incident oncall take 1")
    listed = await run_text(container, people.slack("observer"), "oncall offers")
    assert listed.text.splitlines()[1:] == [
        "  1. payments-primary: responder@example.com, Sun 22 Nov 03:00 WET to Mon 23 Nov 09:00 WET (by Responder)"]
    taken = await run_text(container, people.slack("incident_commander"), "oncall take 1")
    assert not taken.error, taken.text
    assert taken.text == ("Offer 1 taken: incident_commander@example.com is on call for payments-primary instead of "
                          "responder@example.com from Sun 22 Nov 03:00 WET to Mon 23 Nov 09:00 WET (override 1; "
                          "undo: /incident oncall cancel 1)")
    lines = (await run_text(container, people.slack("observer"), "oncall payments")).text.splitlines()
    assert lines[0] == ("payments-primary (team payments): incident_commander@example.com is on call now, "
                        "until Mon 23 Nov 09:00 WET")
    again = await run_text(container, people.slack("manager"), "oncall take 1")
    assert again.error and "already taken by incident_commander@example.com" in again.text
    assert "No open shift offers" in (await run_text(container, people.slack("observer"), "oncall offers")).text
    assert await _events(container) == [(1, "offered", "Responder"), (1, "taken", "Incident Commander")]
    assert [e[:3] for e in await override_events(container)] == [(1, "created", "Incident Commander")]


async def test_a_shift_with_explicit_times_must_be_the_offerers_and_a_lead_may_offer_for_them(container, people):
    await store_schedules(container, PAYMENTS)
    part = await run_text(container, people.slack("team_lead"),
                          "oncall offer payments-primary 2026-11-24T09:00 2026-11-24T17:00")
    assert not part.error, part.text
    assert "team_lead@example.com's shift of payments-primary, Tue 24 Nov 09:00 WET to Tue 24 Nov 17:00 WET" \
        in part.text
    not_theirs = await run_text(container, people.slack("responder"),
                                "oncall offer payments-primary 2026-11-22T09:00 2026-11-23T10:00")
    assert not_theirs.error and ("The offered time is not all responder@example.com's shift: team_lead@example.com "
                                 "is on call from Mon 23 Nov 09:00 WET") in not_theirs.text
    for_them = await run_text(container, people.slack("team_lead"), "oncall offer payments-primary next for "
                                                                    "responder@example.com")
    assert not for_them.error and for_them.text.startswith("Offer 2: responder@example.com's shift"), for_them.text
    refused = await run_text(container, people.slack("responder"),
                             "oncall offer payments-primary next for team_lead@example.com")
    assert refused.error and "responder in team payments" in refused.text and "team_lead or above" in refused.text
    own = await run_text(container, people.slack("responder"), "oncall take 2")
    assert own.error and "your own shift" in own.text
    assert await _events(container) == [(1, "offered", "Team Lead"), (2, "offered", "Team Lead")]


async def test_offers_are_cancelled_by_their_person_or_a_lead_and_outsiders_may_not_take(container, people):
    await store_schedules(container, PAYMENTS, PLATFORM)
    responder = people.slack("responder")
    await run_text(container, responder, "oncall offer payments-primary 2026-11-22T03:00 2026-11-22T12:00")
    await run_text(container, responder, "oncall offer payments-primary 2026-11-22T12:00 2026-11-23T09:00")
    twice = await run_text(container, responder, "oncall offer payments-primary next")
    assert twice.error and "overlaps offer 1 of payments-primary" in twice.text
    outsider = await run_text(container, people.slack("outsider"), "oncall take 1")
    assert outsider.error and "has no role in team payments" in outsider.text
    other = await run_text(container, people.slack("observer"), "oncall cancel offer 1")
    assert other.error and "team_lead or above" in other.text
    mine = await run_text(container, people.slack("responder"), "oncall cancel offer 1")
    assert not mine.error and mine.text == "Offer 1 of payments-primary cancelled; nobody took it."
    lead = await run_text(container, people.slack("team_lead"), "oncall cancel offer 2")
    assert not lead.error, lead.text
    gone = await run_text(container, people.slack("observer"), "oncall take 2")
    assert gone.error and "Offer 2 was cancelled" in gone.text
    hidden = await run_text(container, people.slack("outsider"), "oncall offers payments-primary")
    assert hidden.error and "has no role in team payments" in hidden.text
    assert [e[1] for e in await _events(container)] == ["offered", "offered", "cancelled", "cancelled"]


async def test_two_takers_at_once_one_wins(container, people):
    await store_schedules(container, PAYMENTS)
    await run_text(container, people.slack("responder"), "oncall offer payments-primary next")
    first, second = await asyncio.gather(run_text(container, people.slack("observer"), "oncall take 1"),
                                         run_text(container, people.slack("manager"), "oncall take 1"))
    assert sorted([first.error, second.error]) == [False, True], (first.text, second.text)
    assert len(await override_events(container)) == 1


async def test_bad_offers_are_named_and_change_nothing(container, people):
    await store_schedules(container, PAYMENTS)
    responder = people.slack("responder")
    cases = {
        "oncall offer payments-primary": "'oncall offer' needs a schedule and next (your next shift) or two times",
        "oncall offer nope next": "there is no on-call schedule 'nope'",
        "oncall offer payments-primary 2026-11-23T09:00 2026-11-23T08:00": "ends (2026-11-23T08:00:00+00:00) before",
        "oncall offer payments-primary 2026-11-20T09:00 2026-11-21T09:00": "would be over already",
        "oncall offer payments-primary soon 2026-11-23T08:00": "'soon' is not an ISO time",
        "oncall take x": "'oncall take' needs the offer's number",
        "oncall take 9": "there is no shift offer 9",
        "oncall cancel offer x": "'oncall cancel offer' needs the offer's number",
        "oncall cancel offer 9": "there is no shift offer 9",
    }
    for text, expected in cases.items():
        reply = await run_text(container, responder, text)
        assert reply.error and expected.lower() in reply.text.lower(), (text, reply.text)
    nothing = await run_text(container, people.slack("observer"), "oncall offer payments-primary next")
    assert nothing.error and "No shift of payments-primary is observer@example.com's in the next 60 days" in \
        nothing.text
    stranger = await run_text(container, Actor(SLACK, "UNOBODY", "nobody"), "oncall offer payments-primary next")
    assert stranger.error and "is not linked to a Tocsin person" in stranger.text
    assert await _events(container) == []


async def test_the_shell_offers_and_takes(container, people):
    await store_schedules(container, PAYMENTS)
    offering = Session(container, await sign_in(container, "responder@example.com"), terminal := FakeTerminal())
    try:
        assert await offering.handle("oncall offer payments-primary next")
        assert "Offer 1: responder@example.com's shift" in terminal.texts("reply")[-1]
    finally:
        await offering.stop()
    taking = Session(container, await sign_in(container, "manager@example.com"), terminal := FakeTerminal())
    try:
        assert await taking.handle("oncall take 1")
        assert "Offer 1 taken: manager@example.com is on call" in terminal.texts("reply")[-1]
    finally:
        await taking.stop()
