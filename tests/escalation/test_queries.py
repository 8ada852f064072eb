"""The ledger and outbox as the REST API will serve them."""

from __future__ import annotations

from bot.platforms import DEFAULT_POLICY
from escalation import queries


async def test_notifications_newest_first_with_filters_and_the_ledger(container, people, paging, tick):
    await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    await tick(minutes=5)
    await tick(minutes=10)
    everything = await queries.notifications(container.db)
    assert [n["reason"] for n in everything] == ["step:0:1", "step:0:0", "step:0:0"]
    assert everything[0]["person_id"] == people.ids["team_lead"] and everything[0]["status"] == "SENT"
    assert [n["address"] for n in await queries.notifications(container.db, channel="telegram")] == ["-100200"]
    assert len(await queries.notifications(container.db, person_id=people.ids["team_lead"], status="sent")) == 1
    assert await queries.notifications(container.db, incident=2) == []
    ledger = await queries.escalations(container.db, 1, DEFAULT_POLICY)
    assert ledger["policy"] == "default" and ledger["level"] == 2
    assert [(s["level"], s["status"]) for s in ledger["steps"]] == [(1, "EXECUTED"), (2, "EXECUTED"), (3, "PENDING")]
