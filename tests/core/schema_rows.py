"""What every migration test does around its own tables: people in the rows around them, and rows read back
as tuples, so a round trip can be compared before and after."""

from __future__ import annotations

from sqlalchemy import text

from tests.core.test_schema import NOW

PEOPLE = ((1, "Ana", "ana@example.com"), (2, "Ben", "ben@example.com"))


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def add_people(conn, count: int = 1, timezone: str = "UTC") -> None:
    """Ana (id 1), and Ben (id 2) with ``count=2``."""
    for id_, name, email in PEOPLE[:count]:
        conn.execute(text("INSERT INTO person (id, name, email, timezone, is_admin, active, created_at) VALUES"
                          " (:id, :name, :email, :tz, false, true, :now)"),
                     {"id": id_, "name": name, "email": email, "tz": timezone, "now": NOW})


def people(engine) -> list[tuple]:
    return rows(engine, "SELECT id, name, email FROM person ORDER BY id")
