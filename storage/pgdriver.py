"""Statements straight through psycopg on a session's own connection, inside the session's transaction.

For the few hot paths (webhook ingest and the escalation ledger it writes) where SQLAlchemy's
per-statement work cost three to four times the driver's own. Statement texts are fixed (arrays, never
expanding IN lists), so psycopg prepares each once per connection. A prepared statement soon runs a
generic plan, blind to how many values an array holds: statements whose best plan depends on that (a
few fingerprints among a million alerts) pass ``prepare=False`` and are planned for their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def driver(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under the session, inside the session's transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


async def fetch(conn: AsyncConnection[Any], query: str, params: Sequence[Any], *, prepare: bool | None = None
                ) -> list[tuple[Any, ...]]:
    cursor = await conn.execute(query, params, prepare=prepare)  # type: ignore[arg-type]
    return await cursor.fetchall()


async def insert_many(conn: AsyncConnection[Any], query: str, rows: list[dict[str, Any]],
                      json: Sequence[str] = (), returning: bool = False) -> list[tuple[Any, ...]]:
    """One pipelined round of INSERTs; with ``returning``, each row's RETURNING values in order."""
    for row in rows:
        for name in json:
            row[name] = Jsonb(row[name])
    cursor = conn.cursor()
    await cursor.executemany(query, rows, returning=returning)  # type: ignore[arg-type]
    if not returning:
        return []
    out = []
    while True:
        out.append(await cursor.fetchone())
        if not cursor.nextset():
            return [r for r in out if r is not None]
