"""Writes held back on PostgreSQL (``storage.pgdriver``): sent with the next question, before anything
SQLAlchemy sends, before the commit; never after a rollback. A held write that the database refuses
fails its transaction, and nothing of it is stored."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select, text

from storage import pgdriver
from storage.db import Database
from storage.models import Team

pytestmark = pytest.mark.postgres

INSERT_TEAM = "INSERT INTO team (name, created_at) VALUES (%s, now())"


@pytest.fixture
async def pg(pg_url: str):
    db = Database(pg_url, pool_size=1)  # one connection: a dropped write would still be there next time
    yield db
    await db.dispose()


async def teams(db: Database) -> list[str]:
    """The committed teams, read on a connection of its own (the pool's one connection might otherwise
    send a leftover held write in this very read)."""
    reader = Database(db.url, pool_size=1)
    try:
        async with reader.transaction() as session:
            return list(await session.scalars(select(Team.name).order_by(Team.name)))
    finally:
        await reader.dispose()


async def test_a_held_write_is_committed_with_its_transaction(pg):
    async with pg.transaction() as session:
        (await pgdriver.driver(session)).later(INSERT_TEAM, ["held"])
    assert await teams(pg) == ["held"]


async def test_a_session_committed_by_hand_still_sends_what_it_held(pg):
    """Outside ``Database.transaction`` (which sends what is held before committing) the engine's commit
    hook is the safety net."""
    async with pg.sessions() as session:
        (await pgdriver.driver(session)).later(INSERT_TEAM, ["by hand"])
        await session.commit()
    assert await teams(pg) == ["by hand"]


async def test_sqlalchemy_sees_a_held_write_in_the_same_transaction(pg):
    async with pg.transaction() as session:
        (await pgdriver.driver(session)).later(INSERT_TEAM, ["seen"])
        assert await session.scalar(select(func.count()).select_from(Team)) == 1


async def test_a_question_through_the_driver_goes_after_the_held_writes(pg):
    async with pg.transaction() as session:
        conn = await pgdriver.driver(session)
        conn.later(INSERT_TEAM, ["first"])
        conn.later(INSERT_TEAM, ["second"])
        assert await conn.fetch("SELECT name FROM team ORDER BY name", ()) == [("first",), ("second",)]


async def test_a_rolled_back_transaction_never_sends_what_it_held(pg):
    with pytest.raises(RuntimeError):
        async with pg.transaction() as session:
            (await pgdriver.driver(session)).later(INSERT_TEAM, ["never"])
            raise RuntimeError("changed my mind")
    async with pg.transaction() as session:  # the same pooled connection: nothing left over on it
        await session.execute(text("SELECT 1"))
    assert await teams(pg) == []


async def test_a_refused_held_write_fails_the_transaction_and_stores_nothing(pg):
    with pytest.raises(psycopg.errors.NotNullViolation):
        async with pg.transaction() as session:
            conn = await pgdriver.driver(session)
            conn.later(INSERT_TEAM, ["fine"])
            conn.later(INSERT_TEAM, [None])  # team.name is NOT NULL
    assert await teams(pg) == []
    async with pg.transaction() as session:  # and the connection is usable afterwards
        (await pgdriver.driver(session)).later(INSERT_TEAM, ["after"])
    assert await teams(pg) == ["after"]
