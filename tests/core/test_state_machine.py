"""Every transition of the incident state machine, allowed and refused, through the core on both databases."""

from __future__ import annotations

import pytest

from storage.errors import InvalidTransition
from storage.states import TRANSITIONS, Status

ACTIONS = {
    Status.ACKNOWLEDGED: "acknowledge",
    Status.ESCALATING: "escalate",
    Status.RESOLVED: "resolve",
    Status.CANCELLED: "cancel",
}
PATHS = {  # how to bring a fresh incident into each status
    Status.OPEN: [],
    Status.ESCALATING: ["escalate"],
    Status.ACKNOWLEDGED: ["acknowledge"],
    Status.RESOLVED: ["resolve"],
    Status.CANCELLED: ["cancel"],
}
CASES = [(start, target) for start in Status for target in ACTIONS]


async def _incident_in(container, people, status: Status) -> int:
    commander = people.slack("incident_commander")
    result = await container.incidents.declare(commander, f"in {status.value}", team="payments")
    for step in PATHS[status]:
        await getattr(container.incidents, step)(result.incident.number, commander)
    return result.incident.number


@pytest.mark.parametrize(("start", "target"), CASES, ids=[f"{s.value}->{t.value}" for s, t in CASES])
async def test_transition(container, people, start, target):
    number = await _incident_in(container, people, start)
    action = getattr(container.incidents, ACTIONS[target])
    before = await container.queries.timeline(number)
    if target in TRANSITIONS[start]:
        result = await action(number, people.slack("incident_commander"))
        assert result.changed and result.incident.status == target
        after = await container.queries.timeline(number)
        assert len(after) == len(before) + 1
    elif start == target:
        result = await action(number, people.slack("incident_commander"))
        if target is Status.ESCALATING:  # escalating again runs the next step: a real change
            assert result.changed
        else:
            assert not result.changed and "already" in result.message
            assert await container.queries.timeline(number) == before
    else:
        with pytest.raises(InvalidTransition) as refused:
            await action(number, people.slack("incident_commander"))
        assert f"#{number} cannot be {target.value}" in str(refused.value)
        assert (await container.queries.get(number)).status == start
        assert await container.queries.timeline(number) == before


async def test_acknowledged_cannot_escalate_and_says_what_to_do(container, people):
    number = await _incident_in(container, people, Status.ACKNOWLEDGED)
    with pytest.raises(InvalidTransition, match="page more people"):
        await container.incidents.escalate(number, people.slack("responder"))


async def test_second_acknowledge_is_a_noop_reporting_who_and_when(container, people, clock):
    number = await _incident_in(container, people, Status.OPEN)
    await container.incidents.acknowledge(number, people.slack("responder"))
    clock.advance(seconds=1)
    again = await container.incidents.acknowledge(number, people.telegram("team_lead"))
    assert not again.changed
    assert again.message == f"#{number} was already acknowledged by Responder at 2026-11-22 03:00 UTC"
    assert again.incident.acknowledged_by.name == "Responder"
    kinds = [e.kind for e in await container.queries.timeline(number)]
    assert kinds.count("acknowledged") == 1


async def test_resolve_records_time_and_person_and_note(container, people, clock):
    number = await _incident_in(container, people, Status.OPEN)
    clock.advance(minutes=42)
    result = await container.incidents.resolve(number, people.slack("responder"), "restarted the pool")
    assert result.incident.resolved_by.name == "Responder"
    assert (result.incident.resolved_at - result.incident.created_at).total_seconds() == 42 * 60
    last = (await container.queries.timeline(number))[-1]
    assert (last.kind, last.text, last.actor_source) == ("resolved", "restarted the pool", "slack")


async def test_every_change_is_published_after_commit(container, people, recorder):
    number = await _incident_in(container, people, Status.OPEN)
    await container.incidents.acknowledge(number, people.slack("responder"))
    await container.incidents.acknowledge(number, people.slack("responder"))  # no-op: nothing published
    await container.bus.drain()
    assert [(c.kind, c.incident.status) for c in recorder.changes] == [
        ("declared", Status.OPEN), ("acknowledged", Status.ACKNOWLEDGED)]
