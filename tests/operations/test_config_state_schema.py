"""Migration 0005 (config_state) comes and goes without losing other rows, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import migrations
from tests.core.test_schema import NOW, _engine


def _teams(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, name FROM team ORDER BY id"))]


def _state(conn, row_id: int = 1) -> None:
    conn.execute(text("INSERT INTO config_state (id, generation, document, applied_at) "
                      "VALUES (:id, 1, '{\"integrations\": []}', :now)"), {"id": row_id, "now": NOW})


def test_config_state_comes_and_goes_without_losing_teams(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO team (name, created_at) VALUES ('payments', :now)"), {"now": NOW})
    before = _teams(engine)
    migrations.upgrade(db_url)
    assert _teams(engine) == before
    with engine.begin() as conn:
        _state(conn)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _state(conn, 2)  # one row only
    migrations.downgrade(db_url, "0004")
    assert _teams(engine) == before
    migrations.upgrade(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM config_state")).scalar() == 0
    engine.dispose()
