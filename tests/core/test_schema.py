"""The schema: migrations round-trip, match the models, and the database itself enforces the rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage import migrations
from storage.db import sync_url
from storage.models import Base

NOW = datetime(2026, 11, 22, tzinfo=UTC).isoformat(sep=" ")


def _engine(url):
    return create_engine(sync_url(url), poolclass=pool.NullPool)


def test_upgrade_downgrade_upgrade_and_models_match(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(db_url)
    assert migrations.current_revision(db_url) == migrations.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    engine.dispose()


def _insert_incident(conn, number=1, status="open", dedup="k", severity="high", resolved_at=None):
    conn.execute(text(
        "INSERT INTO incident (number, title, status, severity, labels, dedup_key, source, created_at, updated_at,"
        " resolved_at, escalation_level, truncated_alerts) VALUES (:n, 't', :s, :sev, '{}', :d, 'api', :now, :now,"
        " :r, 0, 0)"), {"n": number, "s": status, "sev": severity, "d": dedup, "now": NOW, "r": resolved_at})


@pytest.mark.parametrize(("field", "value"), [("status", "sleeping"), ("severity", "p0")])
def test_database_refuses_unknown_status_and_severity(db_url, field, value):
    engine = _engine(db_url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert_incident(conn, **{field: value})
    engine.dispose()


def test_database_refuses_a_second_open_incident_per_dedup_key(db_url):
    engine = _engine(db_url)
    with engine.begin() as conn:
        _insert_incident(conn, 1, "resolved", resolved_at=NOW)
        _insert_incident(conn, 2, "open")  # a resolved one does not count
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert_incident(conn, 3, "acknowledged")
    engine.dispose()


def test_database_refuses_resolution_before_creation(db_url):
    engine = _engine(db_url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert_incident(conn, 1, "resolved", resolved_at="2020-01-01 00:00:00")
    engine.dispose()


def test_timeline_rows_cannot_be_updated_or_deleted(db_url):
    engine = _engine(db_url)
    with engine.begin() as conn:
        _insert_incident(conn)
        conn.execute(text("INSERT INTO incident_event (incident_id, kind, actor_source, data, at) "
                          "VALUES (1, 'declared', 'api', '{}', :now)"), {"now": NOW})
    for statement in ("UPDATE incident_event SET kind = 'resolved'", "DELETE FROM incident_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    engine.dispose()
