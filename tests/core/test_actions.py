"""The other core actions: assign, notes, snooze, severity, declare with dedup keys, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.platforms import SLACK, TELEGRAM
from storage.actors import Actor
from storage.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied, UnknownActor
from storage.roles import PERMISSIONS, Permission, Role


async def _declare(container, people, **kwargs):
    return (await container.incidents.declare(people.slack("responder"), "Latency on checkout", team="payments",
                                              **kwargs)).incident


async def test_numbers_are_sequential_and_human(container, people):
    numbers = [(await _declare(container, people)).number for _ in range(3)]
    assert numbers == [1, 2, 3]


async def test_declare_with_open_dedup_key_returns_the_open_incident(container, people):
    first = await _declare(container, people, dedup_key="db-down")
    again = await container.incidents.declare(people.slack("responder"), "DB down again", dedup_key="db-down")
    assert not again.changed and again.incident.number == first.number
    await container.incidents.resolve(first.number, people.slack("responder"))
    reopened = await container.incidents.declare(people.slack("responder"), "DB down, later", dedup_key="db-down")
    assert reopened.changed and reopened.incident.number != first.number


async def test_unknown_team_lists_known_teams(container, people):
    with pytest.raises(NotFound, match="known teams: payments, platform"):
        await container.incidents.declare(people.slack("responder"), "x", team="nope")


async def test_observer_cannot_acknowledge_and_the_refusal_is_in_the_timeline(container, people):
    incident = await _declare(container, people)
    with pytest.raises(PermissionDenied, match="needs responder or above"):
        await container.incidents.acknowledge(incident.number, people.slack("observer"))
    timeline = await container.queries.timeline(incident.number)
    assert timeline[-1].kind == "refused" and timeline[-1].actor_name == "Observer"
    assert (await container.queries.get(incident.number)).status == "open"


async def test_role_in_another_team_does_not_count(container, people):
    incident = await _declare(container, people)  # payments; the outsider is team_lead of platform
    with pytest.raises(PermissionDenied):
        await container.incidents.resolve(incident.number, people.slack("outsider"))


async def test_global_admin_may_do_anything(container, people):
    incident = await _declare(container, people)
    result = await container.incidents.cancel(incident.number, people.slack("admin"), "duplicate of #1")
    assert result.incident.status == "cancelled"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
async def test_permission_table_is_what_the_core_enforces(container, people, role):
    incident = await _declare(container, people)
    actor = people.slack(role.value)
    allowed = Permission.CHANGE_SEVERITY in PERMISSIONS[role]
    if allowed:
        assert (await container.incidents.change_severity(incident.number, actor, "critical")).changed
    else:
        with pytest.raises(PermissionDenied):
            await container.incidents.change_severity(incident.number, actor, "critical")


async def test_unlinked_and_unknown(container, people):
    with pytest.raises(UnknownActor, match="not linked"):
        await container.incidents.acknowledge(1, Actor(TELEGRAM, "999999", "Mallory"))
    with pytest.raises(NotFound, match="no incident #77"):
        await container.incidents.acknowledge(77, people.slack("responder"))


async def test_display_names_decide_nothing(container, people):
    incident = await _declare(container, people)
    disguised = Actor(SLACK, "UOBSERVER", "Team Lead")
    with pytest.raises(PermissionDenied, match="Observer"):
        await container.incidents.resolve(incident.number, disguised)


async def test_assign_note_snooze_severity(container, people, clock):
    incident = await _declare(container, people)
    n, ic = incident.number, people.slack("incident_commander")
    assigned = await container.incidents.assign(n, ic, people.telegram("responder"))
    assert assigned.incident.assignee.name == "Responder"
    assert not (await container.incidents.assign(n, ic, people.slack("responder"))).changed
    await container.incidents.add_note(n, people.slack("stakeholder"), "customers report 502s")
    snoozed = await container.incidents.snooze(n, people.slack("responder"), timedelta(minutes=30))
    assert snoozed.incident.snoozed_until == clock.now() + timedelta(minutes=30)
    with pytest.raises(InvalidInput, match="between 1 minute and 24 hours"):
        await container.incidents.snooze(n, people.slack("responder"), timedelta(days=2))
    changed = await container.incidents.change_severity(n, ic, "HIGH")
    assert changed.incident.severity == "high"
    with pytest.raises(InvalidInput, match="unknown severity"):
        await container.incidents.change_severity(n, ic, "apocalyptic")
    kinds = [e.kind for e in await container.queries.timeline(n)]
    assert kinds == ["declared", "assigned", "note", "snoozed", "severity_changed"]


async def test_closed_incidents_take_notes_but_not_changes(container, people):
    incident = await _declare(container, people)
    await container.incidents.resolve(incident.number, people.slack("responder"))
    assert (await container.incidents.add_note(incident.number, people.slack("responder"), "postmortem")).changed
    with pytest.raises(InvalidTransition):
        await container.incidents.snooze(incident.number, people.slack("responder"), timedelta(hours=1))
