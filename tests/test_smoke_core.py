"""First checks that the core works on both databases (the full suite lives in test_incidents.py)."""

from bot.platforms import SLACK
from storage.actors import Actor


async def test_declare_and_acknowledge_from_slack(container, people):
    declared = await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                                 severity="critical")
    assert declared.changed and declared.incident.number == 1
    acked = await container.incidents.acknowledge(1, people.telegram("responder"))
    assert acked.changed and acked.incident.status == "acknowledged"
    assert acked.incident.acknowledged_by.name == "Responder"
    again = await container.incidents.acknowledge(1, people.slack("team_lead"))
    assert not again.changed and "already acknowledged by Responder" in again.message


async def test_unlinked_actor_is_refused(container, people):
    import pytest

    from storage.errors import UnknownActor

    with pytest.raises(UnknownActor):
        await container.incidents.declare(Actor(SLACK, "UNOBODY"), "x")
