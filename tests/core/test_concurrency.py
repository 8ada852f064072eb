"""Real concurrency on PostgreSQL: separate connection pools racing for the same incident."""

from __future__ import annotations

import asyncio

import pytest

from storage.db import Database
from storage.incidents import IncidentService
from storage.queries import IncidentQueries


@pytest.fixture
def db_url(pg_url: str) -> str:
    """These tests need real row locks: PostgreSQL only."""
    return pg_url


async def test_concurrent_acknowledgements_make_one_transition(db_url, container, people, clock):
    services = [IncidentService(Database(db_url), clock=clock) for _ in range(2)]
    try:
        for round_ in range(15):
            number = (await container.incidents.declare(people.slack("responder"), f"race {round_}")).incident.number
            results = await asyncio.gather(
                services[0].acknowledge(number, people.slack("responder")),
                services[1].acknowledge(number, people.telegram("team_lead")),
            )
            assert sorted(r.changed for r in results) == [False, True]
            winner = next(r for r in results if r.changed).incident.acknowledged_by.name
            loser = next(r for r in results if not r.changed)
            assert f"already acknowledged by {winner}" in loser.message
            kinds = [e.kind for e in await IncidentQueries(container.db).timeline(number)]
            assert kinds == ["declared", "acknowledged"]
    finally:
        for service in services:
            await service.db.dispose()


async def test_concurrent_declares_with_one_dedup_key_open_one_incident(db_url, container, people, clock):
    services = [IncidentService(Database(db_url), clock=clock) for _ in range(4)]
    try:
        results = await asyncio.gather(*(
            s.declare(people.slack("responder"), "same thing", dedup_key="k1") for s in services))
        assert sum(r.changed for r in results) == 1
        assert len({r.incident.number for r in results}) == 1
    finally:
        for service in services:
            await service.db.dispose()
