"""Migration 0008 adds on-call overrides and their append-only audit trail and takes them away again, on both
databases, without touching the rows around them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage import migrations
from tests.core.schema_rows import add_people
from tests.core.test_schema import NOW, _engine

LATER = "2026-11-22 04:00:00+00:00"
TABLES = {"oncall_override", "oncall_override_event"}


def _override(conn, id_=1, start=NOW, end=LATER) -> None:
    conn.execute(text("INSERT INTO oncall_override (id, schedule, person_id, for_person_id, start_at, end_at, created_by,"
                      " created_at) VALUES (:id, 'payments-primary', 1, 2, :start, :end, 'Ana', :now)"),
                 {"id": id_, "start": start, "end": end, "now": NOW})


def _rows(engine) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        overrides = [tuple(r) for r in conn.execute(text(
            "SELECT id, schedule, person_id, for_person_id FROM oncall_override ORDER BY id"))]
        events = [tuple(r) for r in conn.execute(text(
            "SELECT override_id, kind, actor_name FROM oncall_override_event ORDER BY id"))]
    return overrides, events


def test_override_tables_come_and_go_with_rows_around_them(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0007")
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        add_people(conn, 2)
        conn.execute(text("INSERT INTO console_session (id_hash, person_id, csrf_token, created_at, expires_at)"
                          " VALUES ('s1', 1, 'c1', :now, :later)"), {"now": NOW, "later": LATER})

    migrations.upgrade(db_url)
    assert migrations.current_revision(db_url) == migrations.head_revision()
    with engine.begin() as conn:
        _override(conn)
        conn.execute(text("INSERT INTO oncall_override_event (override_id, kind, actor_person_id, actor_source,"
                          " actor_name, data, at) VALUES (1, 'created', 1, 'slack', 'Ana', '{}', :now)"), {"now": NOW})
    assert _rows(engine) == ([(1, "payments-primary", 1, 2)], [(1, "created", "Ana")])
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the end comes after the start
        _override(conn, 2, start=LATER, end=NOW)
    for statement in ("UPDATE oncall_override_event SET kind = 'cancelled'", "DELETE FROM oncall_override_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    if not db_url.startswith("sqlite"):  # SQLite enforces foreign keys only with the app's PRAGMA
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("DELETE FROM person WHERE id = 2"))  # a person covered keeps the audit true

    migrations.downgrade(db_url, "0007")
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM person ORDER BY id")).scalars().all() == ["Ana", "Ben"]
        assert conn.execute(text("SELECT count(*) FROM console_session")).scalar() == 1

    migrations.upgrade(db_url)
    assert _rows(engine) == ([], [])
    with engine.begin() as conn:  # the triggers came back with the table
        _override(conn)
        conn.execute(text("INSERT INTO oncall_override_event (override_id, kind, actor_source, actor_name, data, at)"
                          " VALUES (1, 'created', 'cli', 'cli', '{}', :now)"), {"now": NOW})
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM oncall_override_event"))
    engine.dispose()
