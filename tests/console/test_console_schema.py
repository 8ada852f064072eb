"""Migration 0007 adds the console's sign-in links and sessions and takes them away again, on both
databases, without touching the rows around them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import migrations
from tests.core.schema_rows import add_people, people
from tests.core.test_schema import NOW, _engine

LATER = "2026-11-22 00:15:00+00:00"


def _console_rows(engine) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        links = [tuple(r) for r in conn.execute(text(
            "SELECT token_hash, person_id, used_at IS NULL FROM console_login ORDER BY token_hash"))]
        sessions = [tuple(r) for r in conn.execute(text(
            "SELECT id_hash, person_id, csrf_token FROM console_session ORDER BY id_hash"))]
    return links, sessions


def test_console_tables_come_and_go_with_rows_around_them(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0006")
    assert not {"console_login", "console_session"} & set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        add_people(conn, 2)
        conn.execute(text("INSERT INTO chat_identity (person_id, platform, external_id) VALUES (1, 'shell', 'ana@example.com')"))
    before = people(engine)

    migrations.upgrade(db_url)
    assert migrations.current_revision(db_url) == migrations.head_revision()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO console_login (token_hash, person_id, created_at, expires_at, used_at) VALUES"
                          " ('a1', 1, :now, :later, NULL), ('b2', 2, :now, :later, :later)"),
                     {"now": NOW, "later": LATER})
        conn.execute(text("INSERT INTO console_session (id_hash, person_id, csrf_token, created_at, expires_at)"
                          " VALUES ('s1', 1, 'c1', :now, :later)"), {"now": NOW, "later": LATER})
    assert _console_rows(engine) == ([("a1", 1, True), ("b2", 2, False)], [("s1", 1, "c1")])
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one row per hash
        conn.execute(text("INSERT INTO console_session (id_hash, person_id, csrf_token, created_at, expires_at)"
                          " VALUES ('s1', 2, 'c2', :now, :later)"), {"now": NOW, "later": LATER})
    if not db_url.startswith("sqlite"):  # SQLite enforces foreign keys only with the app's PRAGMA
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO console_session (id_hash, person_id, csrf_token, created_at, expires_at)"
                              " VALUES ('s9', 99, 'c9', :now, :later)"), {"now": NOW, "later": LATER})

    migrations.downgrade(db_url, "0006")
    assert not {"console_login", "console_session"} & set(inspect(engine).get_table_names())
    assert people(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chat_identity")).scalar() == 1

    migrations.upgrade(db_url)
    assert _console_rows(engine) == ([], [])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO console_session (id_hash, person_id, csrf_token, created_at, expires_at)"
                          " VALUES ('s1', 1, 'c1', :now, :later)"), {"now": NOW, "later": LATER})
        conn.execute(text("DELETE FROM chat_identity"))
        conn.execute(text("DELETE FROM person WHERE id = 1"))
    if not db_url.startswith("sqlite"):
        assert _console_rows(engine) == ([], [])  # a person's sessions go with them
    assert people(engine) == before[1:]
    engine.dispose()
