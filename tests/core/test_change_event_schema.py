"""Migration 0010 adds the change_event table and takes it away again, on both databases, without touching
the rows around it."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storage import migrations
from tests.core.schema_rows import add_people, people
from tests.core.test_schema import NOW, _engine


def _changes(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT integration, summary, source FROM change_event ORDER BY id"))]


def test_change_event_table_comes_and_goes_with_rows_around_it(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0009")
    assert "change_event" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        add_people(conn)
    before = people(engine)

    migrations.upgrade(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO change_event (integration, summary, source, details, occurred_at, received_at)"
                          " VALUES ('pd', 'Deployed 1.2', 'ci', '{\"links\": []}', :now, :now),"
                          " ('pd', 'Rolled back', NULL, '{}', :now, :now)"), {"now": NOW})
    assert _changes(engine) == [("pd", "Deployed 1.2", "ci"), ("pd", "Rolled back", None)]

    migrations.downgrade(db_url, "0009")
    assert "change_event" not in inspect(engine).get_table_names()
    assert people(engine) == before

    migrations.upgrade(db_url)
    assert _changes(engine) == []
    assert people(engine) == before
    engine.dispose()
