"""Statements straight through psycopg on a session's own connection, inside the session's transaction.

For the few hot paths (webhook ingest and the escalation ledger it writes) where SQLAlchemy's
per-statement work cost three to four times the driver's own. Statement texts are fixed (arrays, never
expanding IN lists), so psycopg can prepare each once per connection. A prepared statement soon runs a
generic plan, blind to how many values an array holds: statements whose best plan depends on that (a
few fingerprints among a million alerts) pass ``prepare=False`` and are planned for their values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def driver(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under the session, inside the session's transaction (kept in the session's
    ``info``: a session of ours lives for one transaction on one connection)."""
    conn = session.info.get("pg_driver")
    if conn is None:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        conn = session.info["pg_driver"] = raw.driver_connection
    return conn  # type: ignore[no-any-return]


async def fetch(conn: AsyncConnection[Any], query: str, params: Sequence[Any], *, prepare: bool | None = None
                ) -> list[tuple[Any, ...]]:
    cursor = await conn.execute(query, params, prepare=prepare)  # type: ignore[arg-type]
    return await cursor.fetchall()


async def insert_rows(conn: AsyncConnection[Any], table: str, columns: Mapping[str, str],
                      rows: Sequence[Mapping[str, Any]], *, computed: Mapping[str, str] | None = None,
                      returning: str | None = None) -> list[tuple[Any, ...]]:
    """Every row in one ``INSERT ... SELECT FROM unnest(arrays)``, in the rows' order: one statement (and
    one plan) however many rows, where an executemany costs the driver a pipeline and a round per row.
    ``columns`` maps each column to its PostgreSQL type; ``computed`` adds columns whose value is SQL
    (a sequence's next value, drawn in row order)."""
    names, computed = list(columns), dict(computed or {})
    arrays = [[Jsonb(row[n]) if columns[n] == "jsonb" else row[n] for row in rows] for n in names]
    unnest = ", ".join(f"%s::{columns[n]}[]" for n in names)
    query = (f"INSERT INTO {table} ({', '.join([*computed, *names])}) "
             f"SELECT {', '.join([*computed.values(), *names])} FROM unnest({unnest}) WITH ORDINALITY "
             f"AS v({', '.join(names)}, ord) ORDER BY ord" + (f" RETURNING {returning}" if returning else ""))
    cursor = await conn.execute(query, arrays)  # type: ignore[arg-type]
    return await cursor.fetchall() if returning else []


async def update_rows(conn: AsyncConnection[Any], table: str, columns: Mapping[str, str],
                      rows: Sequence[Mapping[str, Any]], key: str = "id") -> None:
    """Every row's new values in one ``UPDATE ... FROM unnest(arrays)``, matched on ``table.id`` (the rows
    carry it under ``key``). Planned for its values: which index fits depends on how many rows there are."""
    names = list(columns)
    arrays = [[row[key] for row in rows], *([row[n] for row in rows] for n in names)]
    query = (f"UPDATE {table} SET {', '.join(f'{n} = v.{n}' for n in names)} "
             f"FROM unnest(%s::integer[], {', '.join(f'%s::{columns[n]}[]' for n in names)}) "
             f"AS v(id, {', '.join(names)}) WHERE {table}.id = v.id")
    await conn.execute(query, arrays, prepare=False)  # type: ignore[arg-type]


async def rows_changed(session: AsyncSession, query: str, params: Sequence[Any], portable: UpdateBase) -> int:
    """How many rows a write changed: ``query`` through the driver on PostgreSQL (planned for its values),
    else SQLAlchemy's ``portable`` statement."""
    if is_postgres(session):
        cursor = await (await driver(session)).execute(query, params, prepare=False)  # type: ignore[arg-type]
        return cursor.rowcount or 0
    result = await session.execute(portable.execution_options(synchronize_session=False))
    return result.rowcount or 0  # type: ignore[attr-defined]

