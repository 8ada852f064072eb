"""Migration 0006 moves people's chat ids and teams' chats into chat_identity / chat_binding and back, on
both databases, without losing the rows around them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import migrations
from tests.core.test_schema import NOW, _engine, _insert_incident

LATER = "2026-11-23 08:30:00+00:00"


def _old_rows(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            "person": [tuple(r) for r in conn.execute(text(
                "SELECT id, name, slack_user_id, telegram_user_id, telegram_started_at FROM person ORDER BY id"))],
            "team": [tuple(r) for r in conn.execute(text(
                "SELECT id, name, slack_channel_id, telegram_chat_id, telegram_topic_id FROM team ORDER BY id"))],
            "membership": [tuple(r) for r in conn.execute(text(
                "SELECT person_id, team_id, role FROM membership ORDER BY id"))],
            "notification": [tuple(r) for r in conn.execute(text(
                "SELECT id, address, topic FROM notification ORDER BY id"))],
        }


def _new_rows(engine) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        identities = [(r[0], r[1], r[2], str(r[3])[:19] if r[3] else None) for r in conn.execute(text(
            "SELECT person_id, platform, external_id, reachable_at FROM chat_identity ORDER BY person_id, platform"))]
        bindings = [tuple(r) for r in conn.execute(text(
            "SELECT team_id, platform, chat, thread FROM chat_binding ORDER BY team_id, platform"))]
    return identities, bindings


def _populate(conn) -> None:
    conn.execute(text(
        "INSERT INTO person (id, name, email, timezone, slack_user_id, telegram_user_id, telegram_started_at,"
        " is_admin, active, created_at) VALUES"
        " (1, 'Ana', 'ana@example.com', 'UTC', 'UANA', 5001, :later, false, true, :now),"
        " (2, 'Ben', 'ben@example.com', 'UTC', NULL, 5002, NULL, false, true, :now),"
        " (3, 'Cy', NULL, 'UTC', 'UCY', NULL, NULL, false, true, :now),"
        " (4, 'Dee', NULL, 'UTC', NULL, NULL, NULL, false, true, :now)"), {"now": NOW, "later": LATER})
    conn.execute(text(
        "INSERT INTO team (id, name, slack_channel_id, telegram_chat_id, telegram_topic_id, created_at) VALUES"
        " (1, 'payments', 'CPAY', -1002000, 42, :now), (2, 'platform', 'CPLAT', NULL, NULL, :now),"
        " (3, 'search', NULL, -1003000, NULL, :now), (4, 'quiet', NULL, NULL, NULL, :now)"), {"now": NOW})
    conn.execute(text("INSERT INTO membership (person_id, team_id, role) VALUES (1, 1, 'responder'),"
                      " (2, 1, 'team_lead'), (3, 2, 'manager')"))
    _insert_incident(conn)
    conn.execute(text(
        "INSERT INTO notification (incident_id, kind, reason, target, channel, address, topic, message, status,"
        " attempts, next_attempt_at, created_at) SELECT id, 'page', 'step:0:0', 'team_channel', 'telegram',"
        " '-1002000', 42, 'm', 'PENDING', 0, :now, :now FROM incident"), {"now": NOW})


def test_chat_ids_move_to_platform_tables_and_back(db_url):
    engine = _engine(db_url)
    migrations.downgrade(db_url, "0005")
    with engine.begin() as conn:
        _populate(conn)
    before = _old_rows(engine)

    migrations.upgrade(db_url)
    assert not {"slack_user_id", "telegram_user_id", "telegram_started_at"} & {
        c["name"] for c in inspect(engine).get_columns("person")}
    assert not {"slack_channel_id", "telegram_chat_id", "telegram_topic_id"} & {
        c["name"] for c in inspect(engine).get_columns("team")}
    identities, bindings = _new_rows(engine)
    assert identities == [(1, "slack", "UANA", NOW[:19]), (1, "telegram", "5001", LATER[:19]),
                          (2, "telegram", "5002", None), (3, "slack", "UCY", NOW[:19])]
    assert bindings == [(1, "slack", "CPAY", None), (1, "telegram", "-1002000", "42"),
                        (2, "slack", "CPLAT", None), (3, "telegram", "-1003000", None)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT address, topic FROM notification")).one() == ("-1002000", "42")
        assert conn.execute(text("SELECT count(*) FROM membership")).scalar() == 3
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one account per platform and id
        conn.execute(text("INSERT INTO chat_identity (person_id, platform, external_id) VALUES (4, 'slack', 'UANA')"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one account per person and platform
        conn.execute(text("INSERT INTO chat_identity (person_id, platform, external_id) VALUES (1, 'slack', 'UX')"))
    with engine.begin() as conn:  # a platform with no column of its own is dropped by the downgrade
        conn.execute(text("INSERT INTO chat_identity (person_id, platform, external_id, reachable_at)"
                          " VALUES (4, 'other', 'dee@example.com', :now)"), {"now": NOW})

    migrations.downgrade(db_url, "0005")
    assert _old_rows(engine) == before
    assert "chat_identity" not in inspect(engine).get_table_names()

    migrations.upgrade(db_url)
    assert _new_rows(engine) == (identities, bindings)
    with engine.begin() as conn:  # deleting a person or a team takes their rows along
        conn.execute(text("DELETE FROM membership"))
        conn.execute(text("DELETE FROM person WHERE id = 1"))
        conn.execute(text("DELETE FROM team WHERE id = 1"))
    if not db_url.startswith("sqlite"):  # SQLite enforces ON DELETE only with PRAGMA foreign_keys, set by the app
        identities, bindings = _new_rows(engine)
        assert [i[0] for i in identities] == [2, 3] and [b[0] for b in bindings] == [2, 3]
    engine.dispose()
