"""Migration 0012 adds on-call shift offers (swaps) and their append-only audit trail, and notifications of kind
'oncall' without an incident (handoff notices), and takes them away again, on both databases, without touching
the overrides, people and incident notifications around them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage import migrations
from tests.core.test_oncall_override_schema import LATER, _override
from tests.core.test_schema import NOW, _engine, _insert_incident

TABLES = {"oncall_offer", "oncall_offer_event"}


def _offer(conn, id_=1, start=NOW, end=LATER) -> None:
    conn.execute(text("INSERT INTO oncall_offer (id, schedule, person_id, start_at, end_at, created_by, created_at)"
                      " VALUES (:id, 'payments-primary', 1, :start, :end, 'Ana', :now)"),
                 {"id": id_, "start": start, "end": end, "now": NOW})


def _event(conn, kind="offered") -> None:
    conn.execute(text("INSERT INTO oncall_offer_event (offer_id, kind, actor_person_id, actor_source, actor_name,"
                      " data, at) VALUES (1, :kind, 1, 'slack', 'Ana', '{}', :now)"), {"kind": kind, "now": NOW})


def _notification(conn, incident_id, kind) -> None:
    conn.execute(text("INSERT INTO notification (incident_id, kind, reason, target, channel, address, message,"
                      " status, attempts, next_attempt_at, created_at) VALUES (:incident, :kind, 'oncall:handoff',"
                      " 'ana@example.com', 'slack', 'U1', 'You are on call', 'PENDING', 0, :now, :now)"),
                 {"incident": incident_id if incident_id is None else conn.execute(text(
                     "SELECT min(id) FROM incident")).scalar(), "kind": kind, "now": NOW})


def _rows(engine) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        offers = [tuple(r) for r in conn.execute(text(
            "SELECT id, schedule, person_id, taken_by_person_id, override_id FROM oncall_offer ORDER BY id"))]
        events = [tuple(r) for r in conn.execute(text("SELECT offer_id, kind FROM oncall_offer_event ORDER BY id"))]
    return offers, events


def test_offer_tables_come_and_go_with_rows_around_them(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0011")
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person (id, name, email, timezone, is_admin, active, created_at) VALUES"
                          " (1, 'Ana', 'ana@example.com', 'UTC', false, true, :now),"
                          " (2, 'Ben', 'ben@example.com', 'UTC', false, true, :now)"), {"now": NOW})
        _override(conn)
        _insert_incident(conn)
        _notification(conn, 1, "page")
    with pytest.raises(IntegrityError), engine.begin() as conn:  # before 0012, a notification has an incident
        _notification(conn, None, "page")

    migrations.upgrade(db_url)
    assert migrations.current_revision(db_url) == migrations.head_revision()
    with engine.begin() as conn:
        _offer(conn)
        _event(conn)
        conn.execute(text("UPDATE oncall_offer SET taken_by_person_id = 2, taken_at = :now, override_id = 1"),
                     {"now": NOW})
        _event(conn, "taken")
    assert _rows(engine) == ([(1, "payments-primary", 1, 2, 1)], [(1, "offered"), (1, "taken")])
    with engine.begin() as conn:
        _notification(conn, None, "oncall")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _notification(conn, None, "other")
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the end comes after the start
        _offer(conn, 2, start=LATER, end=NOW)
    for statement in ("UPDATE oncall_offer_event SET kind = 'cancelled'", "DELETE FROM oncall_offer_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))

    migrations.downgrade(db_url, "0011")
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM person ORDER BY id")).scalars().all() == ["Ana", "Ben"]
        assert conn.execute(text("SELECT count(*) FROM oncall_override")).scalar() == 1
        assert conn.execute(text("SELECT incident_id, kind FROM notification")).all() == [(1, "page")]

    migrations.upgrade(db_url)
    assert _rows(engine) == ([], [])
    with engine.begin() as conn:  # the triggers came back with the table
        _offer(conn)
        _event(conn)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM oncall_offer_event"))
    engine.dispose()
