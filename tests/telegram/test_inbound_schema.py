"""Migration 0004 (inbound_delivery) comes and goes on both databases without touching other rows."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storage import migrations
from tests.core.test_schema import NOW, _engine, _insert_incident


def _incidents(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, number, status FROM incident"))]


def test_inbound_delivery_comes_and_goes_and_keeps_its_rows_and_everyone_elses(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0003")
    with engine.begin() as conn:
        _insert_incident(conn)
    before = _incidents(engine)
    migrations.upgrade(db_url)
    assert _incidents(engine) == before
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO inbound_delivery (platform, key, payload, status, attempts, last_error, received_at,"
            " next_attempt_at, updated_at) VALUES ('telegram', '7', '{\"update_id\": 7}', 'dead', 5, 'x', :now,"
            " :now, :now)"), {"now": NOW})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT key, status, attempts FROM inbound_delivery")).one() == ("7", "dead", 5)
    migrations.downgrade(db_url, "0003")
    assert "inbound_delivery" not in inspect(engine).get_table_names() and _incidents(engine) == before
    migrations.upgrade(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbound_delivery")).scalar() == 0
    engine.dispose()
