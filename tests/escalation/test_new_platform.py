"""A chat platform the core has never heard of works by its name alone: its actors resolve through their
linked account, a step listing it pages the person's reachable account there, and a team bound to a chat
on it gets the team page there. (``tocsin shell`` is such a platform; here it is called "pager".)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.bootstrap import CORE, Parts
from bot.platforms import CHATS
from escalation.dispatcher import Dispatcher
from escalation.engine import Escalation
from storage import identity
from storage.actors import Actor
from storage.errors import UnknownActor
from storage.models import ChatBinding
from tests.escalation.conftest import notifications, steps, use_policy
from tests.escalation.fakes import RecordingSender

PLATFORM = "pager"


@pytest.fixture
def parts() -> Parts:
    """No ledger hook from the composition root: the test installs one that knows the new platform."""
    return CORE


@pytest.fixture
def pager(container):
    sender = RecordingSender(PLATFORM)
    container.senders[PLATFORM] = sender
    escalation = Escalation(container.incidents, container.senders, (*CHATS, PLATFORM))
    container.incidents.hooks.append(escalation)
    dispatcher = Dispatcher(container.db, container.clock, container.senders,
                            limits={PLATFORM: lambda _address: ()})
    return sender, escalation, dispatcher


async def test_a_new_platform_pages_its_reachable_accounts_and_team_chats(container, people, clock, pager):
    sender, escalation, dispatcher = pager
    lead = people.ids["team_lead"]
    await identity.link(container.db, lead, PLATFORM, "team_lead@example.com", reachable_at=clock.now())
    async with container.db.transaction() as session:
        session.add(ChatBinding(team_id=people.team_id, platform=PLATFORM, chat="room-payments", thread="t1"))
    await use_policy(container, "pager-only", [60], channels=(PLATFORM,), notify=("team_channel", "role:team_lead"))

    actor = Actor(PLATFORM, "team_lead@example.com", "someone typing")
    await container.incidents.declare(actor, "Checkout down", team="payments")
    [event] = [e for e in await container.queries.timeline(1) if e.kind == "declared"]
    assert (event.actor_name, event.actor_source) == ("Team Lead", PLATFORM)  # resolved via chat_identity
    clock.advance(seconds=61)
    assert await escalation.run_due() == 1
    await dispatcher.drain()
    sent = sorted((s.destination.address, s.destination.topic) for s in sender.sent)
    assert sent == [("room-payments", "t1"), ("team_lead@example.com", None)]

    # Signed out: the account stays linked, but the platform may no longer write to them.
    assert await identity.set_reachable(container.db, PLATFORM, "team_lead@example.com", None) == "Team Lead"
    await container.incidents.declare(actor, "Search down", team="payments")
    clock.advance(seconds=61)
    await escalation.run_due()
    [step] = await steps(container, 2)
    assert f"{PLATFORM} Tocsin may not write to them there now" in step.note
    paged = sorted((n.channel, n.address) for n in await notifications(container) if n.incident_id != 1)
    assert paged == [(PLATFORM, "room-payments"), ("slack", "UTEAM_LEAD")]  # the lead: their next channel
    assert "fell back to slack" in step.note


async def test_an_unlinked_account_of_a_new_platform_is_nobody(container, people, clock, pager):
    with pytest.raises(UnknownActor, match="your pager account"):
        await container.incidents.declare(Actor(PLATFORM, "stranger@example.com"), "x", team="payments")
    await identity.link(container.db, people.ids["responder"], PLATFORM, "responder@example.com",
                        reachable_at=clock.now())
    await identity.link(container.db, people.ids["observer"], PLATFORM, "responder@example.com",
                        reachable_at=clock.now() + timedelta(seconds=1))  # the account moves to the observer
    assert await identity.person_for(container.db, PLATFORM, "responder@example.com") == people.ids["observer"]
