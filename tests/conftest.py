"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from TOCSIN_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test). Each test
session creates its own throwaway database there, migrates it once, and empties it between tests.
Without a reachable server the PostgreSQL variants are skipped, unless TOCSIN_REQUIRE_PG=1 (CI),
which turns that into a failure.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from bot import bootstrap
from bot.bootstrap import CORE, Parts
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.platforms import SLACK, TELEGRAM
from bot.settings import Settings
from storage import migrations
from storage.actors import Actor
from storage.clock import FakeClock
from storage.db import Database
from storage.models import ChatBinding, ChatIdentity, Membership, Person, Team
from storage.ports import RecordingObserver, Sender

PG_URL = os.environ.get("TOCSIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("TOCSIN_REQUIRE_PG") == "1"
TABLES_KEPT = {"alembic_version"}

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
for leaking in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):  # they switch Bolt to OAuth mode
    os.environ.pop(leaking, None)


def _pg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def throwaway_pg_database(prefix: str = "tocsin_test") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards; skips (or fails, in CI) without a server."""
    admin = _pg_conninfo(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (TOCSIN_REQUIRE_PG=1) but {PG_URL} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; dropped afterwards."""
    with throwaway_pg_database() as url:
        migrations.upgrade(url)
        yield url


def _truncate_pg(url: str) -> None:
    with psycopg.connect(_pg_conninfo(url), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall() if r[0] not in TABLES_KEPT]
        if tables:
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
        conn.execute("ALTER SEQUENCE incident_number_seq RESTART WITH 1")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A migrated, empty database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tocsin.db'}"
        migrations.upgrade(url)
        return url
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A migrated, empty PostgreSQL database (for tests of real concurrency)."""
    _truncate_pg(pg_database)
    return pg_database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 3, 0, tzinfo=UTC))


@pytest.fixture
def recorder() -> RecordingObserver:
    """Every change the container's bus publishes, in order."""
    return RecordingObserver()


@pytest.fixture
def parts() -> Parts:
    """What the ``container`` fixture builds besides the core; a folder's conftest overrides it."""
    return CORE


@pytest.fixture
def fake_senders() -> dict[str, Sender]:
    """Outbound ports the ``container`` fixture is built with (the escalation tests' recording ones)."""
    return {}


@pytest.fixture
def build_options() -> dict[str, Any]:
    """More keyword arguments of ``bootstrap.build`` for the ``container`` fixture (Telegram's pacing...)."""
    return {}


@pytest.fixture
def settings(db_url: str) -> Settings:
    """The ``container`` fixture's settings; a folder's conftest overrides them (Slack's, Telegram's)."""
    return Settings(database_url=db_url, scheduler=False)


@pytest.fixture
async def container(settings: Settings, clock: FakeClock, parts: Parts, recorder: RecordingObserver,
                    fake_senders: dict[str, Sender], build_options: dict[str, Any]) -> AsyncIterator[Container]:
    """The process built by the composition root, on a fake clock, with a recording observer on the bus."""
    c = bootstrap.build(settings, TocsinConfig(), clock, parts=parts, observers=[recorder], senders=fake_senders,
                        **build_options)
    yield c
    await c.close()


@pytest.fixture
async def db(container: Container) -> Database:
    return container.db


class People:
    """A small on-call team: payments, with one person per role, plus an admin and an outsider."""

    ROLES = ("observer", "stakeholder", "responder", "incident_commander", "team_lead", "manager")

    def __init__(self) -> None:
        self.team_id: int = 0
        self.ids: dict[str, int] = {}

    def slack(self, role: str) -> Actor:
        return Actor(SLACK, f"U{role.upper()}", role)

    def telegram(self, role: str) -> Actor:
        return Actor(TELEGRAM, str(1000 + list(self.ROLES + ("admin", "outsider")).index(role)), role)


@pytest.fixture
async def people(container: Container, clock: FakeClock) -> People:
    """Team "payments" with a person per role (Slack id U<ROLE>, Telegram id 1000+i), an admin, an outsider."""
    result = People()
    async with container.db.transaction() as session:
        team = Team(name="payments", created_at=clock.now(),
                    bindings=[ChatBinding(platform=SLACK, chat="CPAYMENTS"), ChatBinding(platform=TELEGRAM, chat="-100200")])
        other = Team(name="platform", created_at=clock.now(), bindings=[ChatBinding(platform=SLACK, chat="CPLATFORM")])
        session.add_all([team, other])
        await session.flush()
        result.team_id = team.id
        names = (*People.ROLES, "admin", "outsider")
        for i, role in enumerate(names):
            # Slack may write to them at once; Telegram only once they started the bot (not yet here).
            person = Person(name=role.replace("_", " ").title(), email=f"{role}@example.com",
                            is_admin=role == "admin", created_at=clock.now(), identities=[
                                ChatIdentity(platform=SLACK, external_id=f"U{role.upper()}", reachable_at=clock.now()),
                                ChatIdentity(platform=TELEGRAM, external_id=str(1000 + i))])
            session.add(person)
            await session.flush()
            result.ids[role] = person.id
            if role in People.ROLES:
                session.add(Membership(person_id=person.id, team_id=team.id, role=role))
            elif role == "outsider":
                session.add(Membership(person_id=person.id, team_id=other.id, role="team_lead"))
    return result
