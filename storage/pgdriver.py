"""Statements straight through psycopg on a session's own connection, inside the session's transaction.

For the few hot paths (webhook ingest and the escalation ledger it writes) where SQLAlchemy's
per-statement work cost three to four times the driver's own. Statement texts are fixed (arrays, never
expanding IN lists), so psycopg can prepare each once per connection. A prepared statement soon runs a
generic plan, blind to how many values an array holds: statements whose best plan depends on that (a
few fingerprints among a million alerts) pass ``prepare=False`` and are planned for their values.

Writes whose answer nobody reads (``later``, ``update_rows``, ``insert_rows`` without RETURNING) are held
back and sent in one pipeline with the next statement that must be answered, so a transaction waits on
the server once per question rather than once per statement, and the server works on the writes while
Python prepares what comes next. Whatever is held goes out before anything SQLAlchemy sends on that
connection and before it commits (``_hold_back``); a rollback drops it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, AsyncCursor
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util import await_only

_Statement = tuple[str, Sequence[Any], bool | None]  # query, parameters, prepare


class Driver:
    """The psycopg connection under a pooled connection, and the writes held back on it."""

    __slots__ = ("conn", "held")

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn
        self.held: list[_Statement] = []

    def later(self, query: str, params: Sequence[Any] = (), *, prepare: bool | None = None) -> None:
        """Send this write with the next statement that is answered (or before the commit)."""
        self.held.append((query, params, prepare))

    async def fetch(self, query: str, params: Sequence[Any], *, prepare: bool | None = None
                    ) -> list[tuple[Any, ...]]:
        return (await self.fetch_each([(query, params, prepare)]))[0]

    async def fetch_each(self, statements: Sequence[_Statement]) -> list[list[tuple[Any, ...]]]:
        """The rows of each statement, all sent at once (after what is held) and answered together."""
        held, self.held = self.held, []  # sent now, whatever happens
        cursors = await self._send([*held, *statements])
        return [await cursor.fetchall() for cursor in cursors[-len(statements):]]

    async def flush(self) -> None:
        if self.held:
            held, self.held = self.held, []
            await self._send(held)

    def drop(self) -> None:
        self.held = []

    async def _send(self, statements: Sequence[_Statement]) -> list[AsyncCursor[Any]]:
        if len(statements) == 1:
            query, params, prepare = statements[0]
            return [await self.conn.execute(query, params, prepare=prepare)]  # type: ignore[arg-type]
        async with self.conn.pipeline():  # leaving it waits for every answer, and raises the first error
            return [await self.conn.execute(query, params, prepare=prepare)  # type: ignore[arg-type]
                    for query, params, prepare in statements]


async def flush(session: AsyncSession) -> None:
    """Send what the session's connection holds back, if anything (``Database.transaction`` does, before
    committing; the engine's commit hook is only the safety net)."""
    held: Driver | None = session.info.get("pg_driver")
    if held is not None and held.held:
        await held.flush()


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def driver(session: AsyncSession) -> Driver:
    """The driver under the session, inside the session's transaction (kept in the session's ``info``: a
    session of ours lives for one transaction on one connection; and in the pooled connection's, where
    the engine's hooks find what it holds)."""
    found: Driver | None = session.info.get("pg_driver")
    if found is None:
        connection = await session.connection()
        found = connection.info.get("pg_driver")
        if found is None or found.conn.closed:
            raw = await connection.get_raw_connection()
            found = connection.info["pg_driver"] = Driver(raw.driver_connection)  # type: ignore[arg-type]
            _hold_back(connection.engine.sync_engine)
        session.info["pg_driver"] = found
    return found


def _hold_back(engine: Engine) -> None:
    """Send what a connection holds before SQLAlchemy's own statements and its commit; drop it on rollback."""
    if not event.contains(engine, "commit", _flush):
        event.listen(engine, "before_cursor_execute", _flush_before)
        event.listen(engine, "commit", _flush)
        event.listen(engine, "rollback", _drop)


def _held(connection: Connection) -> Driver | None:
    if connection.invalidated:  # the connection died: what it held died with it
        return None
    found: Driver | None = connection.info.get("pg_driver")
    return found if found is not None and found.held else None


def _flush(connection: Connection) -> None:
    held = _held(connection)
    if held is not None:
        await_only(held.flush())  # SQLAlchemy runs its side of an async engine in a greenlet


def _flush_before(connection: Connection, *_: Any) -> None:
    _flush(connection)


def _drop(connection: Connection) -> None:
    held = _held(connection)
    if held is not None:
        held.drop()


async def insert_rows(conn: Driver, table: str, columns: Mapping[str, str],
                      rows: Sequence[Mapping[str, Any]], *, computed: Mapping[str, str] | None = None,
                      returning: str | None = None) -> list[tuple[Any, ...]]:
    """Every row in one ``INSERT ... SELECT FROM json_to_recordset(...)``, in the rows' order: one
    statement (and one plan) and one parameter however many rows, where an executemany costs the driver a
    round per row and arrays cost it a Python call per value. ``columns`` maps each column to its
    PostgreSQL type; ``computed`` adds columns whose value is SQL (a sequence's next value, drawn in row
    order). Held back unless something is ``returning``."""
    names, computed = list(columns), dict(computed or {})
    query = (f"INSERT INTO {table} ({', '.join([*computed, *names])}) "
             f"SELECT {', '.join([*computed.values(), *names])} FROM {_recordset(columns)} "
             "ORDER BY ord" + (f" RETURNING {returning}" if returning else ""))
    params = [_document([{"ord": i, **{n: row[n] for n in names}} for i, row in enumerate(rows)])]
    if returning:
        return await conn.fetch(query, params)
    conn.later(query, params)
    return []


async def update_rows(conn: Driver, table: str, columns: Mapping[str, str],
                      rows: Sequence[Mapping[str, Any]], key: str = "id") -> None:
    """Every row's new values in one ``UPDATE ... FROM unnest(arrays)``, matched on ``table.id`` (the rows
    carry it under ``key``); held back. Arrays rather than a JSON document (as ``insert_rows`` sends):
    the planner knows how many values an array holds, and so probes the primary key for a few rows
    where, told nothing (a JSON recordset counts as 100 rows), it reads the whole table into a hash.
    Planned for its values for the same reason."""
    names = list(columns)
    arrays = [[row[key] for row in rows], *([row[n] for row in rows] for n in names)]
    query = (f"UPDATE {table} SET {', '.join(f'{n} = v.{n}' for n in names)} "
             f"FROM unnest(%s::integer[], {', '.join(f'%s::{columns[n]}[]' for n in names)}) "
             f"AS v(id, {', '.join(names)}) WHERE {table}.id = v.id")
    conn.later(query, arrays, prepare=False)


def _recordset(columns: Mapping[str, str]) -> str:
    fields = {"ord": "integer", **columns}
    return f"json_to_recordset(%s::json) AS v({', '.join(f'{n} {t}' for n, t in fields.items())})"


def _document(rows: list[dict[str, Any]]) -> str:
    """The rows as one JSON text (nested documents stay documents; times in ISO 8601 with their zone)."""
    return json.dumps(rows, separators=(",", ":"), default=_encode)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


async def write(session: AsyncSession, query: str, params: Sequence[Any], portable: UpdateBase) -> None:
    """A write nobody needs the answer of: ``query`` held back on PostgreSQL (planned for its values),
    else SQLAlchemy's ``portable`` statement."""
    if is_postgres(session):
        (await driver(session)).later(query, params, prepare=False)
    else:
        await session.execute(portable.execution_options(synchronize_session=False))
