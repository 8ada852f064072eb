"""Migration 0011 adds the maintenance_window table and takes it away again, on both databases, without
touching the rows around it."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import migrations
from tests.core.test_schema import NOW, _engine

LATER = "2026-11-22 04:00:00+00:00"


def _window(conn, id_=1, start=NOW, end=LATER) -> None:
    conn.execute(text("INSERT INTO maintenance_window (id, team_id, service, labels, start_at, end_at, reason, source,"
                      " created_by, created_at) VALUES (:id, 1, NULL, '{\"env\": \"staging\"}', :start, :end,"
                      " 'db upgrade', 'slack', 'Ana', :now)"), {"id": id_, "start": start, "end": end, "now": NOW})


def _windows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, team_id, reason, created_by FROM maintenance_window ORDER BY id"))]


def _teams(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT name FROM team ORDER BY id")).scalars())


def test_maintenance_window_table_comes_and_goes_with_rows_around_it(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0010")
    assert "maintenance_window" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO team (id, name, created_at) VALUES (1, 'payments', :now)"), {"now": NOW})

    migrations.upgrade(db_url)
    assert migrations.current_revision(db_url) == migrations.head_revision()
    with engine.begin() as conn:
        _window(conn)
    assert _windows(engine) == [(1, 1, "db upgrade", "Ana")]
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the end comes after the start
        _window(conn, 2, start=LATER, end=NOW)

    migrations.downgrade(db_url, "0010")
    assert "maintenance_window" not in inspect(engine).get_table_names()
    assert _teams(engine) == ["payments"]

    migrations.upgrade(db_url)
    assert _windows(engine) == []
    assert _teams(engine) == ["payments"]
    engine.dispose()
