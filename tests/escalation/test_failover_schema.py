"""Migration 0003 (notification.failed_over_at) keeps the outbox's rows both ways, on both databases."""

from __future__ import annotations

from sqlalchemy import text

from storage import migrations
from tests.core.test_schema import NOW, _engine, _insert_incident


def _notifications(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, reason, status, attempts FROM notification"))]


def test_failed_over_at_comes_and_goes_without_losing_notifications(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0002")
    with engine.begin() as conn:
        _insert_incident(conn)
        conn.execute(text(
            "INSERT INTO notification (incident_id, kind, reason, target, channel, address, message, status, attempts,"
            " next_attempt_at, created_at) SELECT id, 'page', 'step:0:0', 'team_channel', 'slack', 'C1', 'm',"
            " 'PENDING', 3, :now, :now FROM incident"), {"now": NOW})
    before = _notifications(engine)
    migrations.upgrade(db_url)
    assert _notifications(engine) == before
    with engine.begin() as conn:
        conn.execute(text("UPDATE notification SET failed_over_at = :now"), {"now": NOW})
    migrations.downgrade(db_url, "0002")
    assert _notifications(engine) == before
    migrations.upgrade(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT failed_over_at FROM notification")).scalar() is None
    engine.dispose()
