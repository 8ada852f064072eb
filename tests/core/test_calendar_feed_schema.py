"""Migration 0009 adds calendar_feed (the on-call feeds' tokens) and takes it away again, on both databases,
without touching the rows around it."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import migrations
from tests.core.schema_rows import add_people, people
from tests.core.test_schema import NOW, _engine

INSERT = "INSERT INTO calendar_feed (kind, subject, token, created_at) VALUES (:kind, :subject, :token, :now)"


def _feeds(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT kind, subject, token FROM calendar_feed ORDER BY token"))]


def test_calendar_feed_comes_and_goes_with_rows_around_it(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0008")
    assert "calendar_feed" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        add_people(conn, timezone="Europe/Lisbon")
    before = people(engine)

    migrations.upgrade(db_url)
    with engine.begin() as conn:
        conn.execute(text(INSERT), {"kind": "schedule", "subject": "payments", "token": "t1", "now": NOW})
        conn.execute(text(INSERT), {"kind": "person", "subject": "ana@example.com", "token": "t2", "now": NOW})
    assert _feeds(engine) == [("schedule", "payments", "t1"), ("person", "ana@example.com", "t2")]
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one feed per schedule
        conn.execute(text(INSERT), {"kind": "schedule", "subject": "payments", "token": "t3", "now": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a token opens one feed
        conn.execute(text(INSERT), {"kind": "schedule", "subject": "other", "token": "t1", "now": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(INSERT), {"kind": "team", "subject": "payments", "token": "t4", "now": NOW})

    migrations.downgrade(db_url, "0008")
    assert "calendar_feed" not in inspect(engine).get_table_names()
    assert people(engine) == before
    migrations.upgrade(db_url)
    assert _feeds(engine) == []
    assert people(engine) == before
    engine.dispose()
