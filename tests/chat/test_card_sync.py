"""The live incident card on every platform (``bot.chat.cards``): posted once to the team's chat, edited in
place after every change, coalesced in storms, caught up with other processes by the sweep, retried after an
outage, not retried while refused, one card between processes."""

from __future__ import annotations

import asyncio
import logging

from bot import bootstrap
from bot.chat import claims
from bot.chat.cards import CardSync
from bot.config_file import TocsinConfig


async def declare(chat, incidents, people, title: str = "Disk full") -> None:
    await incidents.declare(people.slack("responder"), title, team="payments")
    await chat.settle()


async def sweep(chat, mark):
    mark = await chat.cards.sweep(mark)
    await chat.settle()
    return mark


async def test_a_declared_incident_gets_one_card_in_its_teams_chat(chat, people, container):
    await declare(chat, container.incidents, people)
    [card] = chat.cards_in_home()
    assert "Disk full" in card and "open" in card
    assert chat.edits() == 0


async def test_a_change_from_another_surface_edits_the_card_in_place(chat, people, container):
    await declare(chat, container.incidents, people)
    await container.incidents.acknowledge(1, people.telegram("responder"))
    await chat.settle()
    [card] = chat.cards_in_home()
    assert "acknowledged" in card
    assert chat.posts() == 1 and chat.edits() == 1


async def test_a_storm_of_changes_is_coalesced_and_ends_on_the_latest_state(chat, people, container, caplog):
    incidents = container.incidents
    await declare(chat, incidents, people)
    caplog.set_level(logging.WARNING, logger="bot")
    held = chat.hold_edits()  # however fast the machine: the whole storm arrives while the first edit is out
    await incidents.acknowledge(1, people.slack("responder"))
    for i in range(15):
        await incidents.add_note(1, people.slack("responder"), f"note {i}")
    await incidents.resolve(1, people.slack("responder"))
    held.set()
    await chat.settle()
    [card] = chat.cards_in_home()
    assert "resolved" in card
    assert chat.edits() <= 2  # 17 changes: the edit in flight, then the latest
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_an_incident_opened_and_changed_by_another_process_reaches_the_card_after_a_sweep(
        chat, people, other, clock):
    mark = await sweep(chat, None)
    await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    mark = await sweep(chat, mark)
    [card] = chat.cards_in_home()
    assert "Disk full" in card and "open" in card

    clock.advance(minutes=2)
    await other.incidents.acknowledge(1, people.telegram("responder"))
    await chat.settle()
    assert "open" in chat.cards_in_home()[0]  # this process's bus never heard of it
    mark = await sweep(chat, mark)
    assert "acknowledged" in chat.cards_in_home()[0]
    edits = chat.edits()

    await sweep(chat, mark)  # nothing new: no edit, no second card
    assert chat.edits() == edits and chat.posts() == 1


async def test_a_sweep_and_the_bus_post_one_card_between_them(chat, people, container):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await chat.cards.sweep(None)  # while the bus's post may still be in flight
    await chat.settle()
    assert len(chat.cards_in_home()) == 1 and chat.edits() == 0


async def test_sweeps_post_no_card_for_closed_incidents_or_teams_without_a_chat(chat, people, other, clock):
    await other.incidents.declare(people.slack("admin"), "Platform thing", team="platform")
    await other.incidents.declare(people.slack("responder"), "Blip", team="payments")
    clock.advance(minutes=1)
    await other.incidents.resolve(2, people.slack("responder"))
    await sweep(chat, None)
    assert chat.posts() == 0


async def test_a_refused_card_is_tried_again_after_the_next_change_not_by_every_sweep(chat, people, other, clock):
    chat.refuse_next_post()
    await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    mark = await sweep(chat, None)
    await sweep(chat, mark)  # the same state: not tried again
    assert chat.cards_in_home() == [] and chat.posts() == 1
    clock.advance(minutes=1)
    await other.incidents.acknowledge(1, people.slack("responder"))
    await sweep(chat, mark)
    [card] = chat.cards_in_home()
    assert "acknowledged" in card


async def test_a_card_missed_in_an_outage_is_posted_once_the_platform_is_back(chat, people, container):
    mark = await sweep(chat, None)
    chat.outage(True)
    await declare(chat, container.incidents, people)  # given up for now
    assert chat.cards_in_home() == []
    chat.outage(False)
    mark = await sweep(chat, mark)
    await sweep(chat, mark)  # later sweeps do not post it again
    [card] = chat.cards_in_home()
    assert "Disk full" in card and "open" in card


async def test_a_claim_left_by_a_process_that_died_is_taken_over_once_stale(chat, people, other, container, clock):
    mark = await sweep(chat, None)
    await claims.claim(chat.name, container.db, f"card:1:{chat.home}", clock.now())  # claimed, then it died
    await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    mark = await sweep(chat, mark)
    assert chat.cards_in_home() == []  # for all we know, its holder is still posting it

    clock.advance(minutes=11)
    await other.incidents.add_note(1, people.slack("responder"), "still down")
    await sweep(chat, mark)
    [card] = chat.cards_in_home()
    assert "Disk full" in card


async def test_two_processes_sweeping_at_once_post_one_card(chat, people, other, container):
    replica = bootstrap.build(container.settings, TocsinConfig(), container.clock)
    second = CardSync(chat.cards.channel, replica.db, replica.queries, replica.clock)  # the same API, its own state
    try:
        await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
        chat.slow_posts(0.3)  # each process looks before the other's card is stored
        await asyncio.gather(chat.cards.sweep(None), second.sweep(None))
        await asyncio.gather(chat.settle(), second.drain())
        assert len(chat.cards_in_home()) == 1
    finally:
        await replica.close()

