"""A database that does not answer in time while an escalation step runs: the step waits for the next
pass; it is not recorded as failed (a failed step never pages anyone)."""

from __future__ import annotations

import psycopg
import pytest

from bot.settings import Settings
from tests.conftest import _pg_conninfo
from tests.escalation.conftest import steps


@pytest.fixture
def settings(pg_url: str) -> Settings:
    """PostgreSQL with a one-second database timeout."""
    return Settings(database_url=pg_url, scheduler=False, database_timeout=1.0)


async def test_a_step_that_outlives_the_database_timeout_runs_on_the_next_pass(container, people, paging, tick,
                                                                                senders, clock, pg_url):
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                      severity="high")
    with psycopg.connect(_pg_conninfo(pg_url)) as other:
        other.execute("LOCK TABLE notification IN ACCESS EXCLUSIVE MODE")  # the step's pages wait on it
        clock.advance(minutes=5)
        assert await paging.escalation.run_due() == 0
        other.rollback()
    assert [r.status for r in await steps(container)] == ["PENDING"] * 3
    assert await tick() == 1
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS"]
