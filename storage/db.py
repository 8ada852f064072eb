"""Database engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import pgdriver
from storage.errors import DatabaseTimeout

DEFAULT_URL = "sqlite:///tocsin.db"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why."""


def async_url(url: str) -> str:
    """Turn a user-facing URL (``postgresql://``, ``sqlite:///x.db``) into the async driver URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {url!r} (try postgresql://host/db or sqlite:///tocsin.db)") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise DatabaseUrlError(f"unsupported database {backend!r}: Tocsin runs on PostgreSQL or SQLite")


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (Alembic, tests)."""
    parsed = make_url(async_url(url))
    driver = "postgresql+psycopg" if parsed.get_backend_name() == "postgresql" else "sqlite"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """The URL with any password masked, safe for logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def _sqlite_pragmas(dbapi_connection, _record, *, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")  # first: switching to WAL waits for the lock too
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """One engine and its session factory; every transaction ends within ``timeout`` seconds."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False, timeout: float = 10.0,
                 connect_timeout: float = 5.0) -> None:
        self.url = url
        self.timeout, self.connect_timeout = timeout, connect_timeout
        target = async_url(url)
        self.dialect = make_url(target).get_backend_name()
        if self.dialect == "sqlite":
            # One connection: SQLite has one writer, and queueing in the pool beats "database is locked".
            self.engine: AsyncEngine = create_async_engine(
                target, echo=echo, pool_size=1, max_overflow=0, pool_timeout=timeout
            )
            event.listen(self.engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms=int(timeout * 1000)))
        else:
            # libpq counts whole seconds, two at least.
            connect = {"connect_timeout": max(2, math.ceil(connect_timeout))}
            self.engine = create_async_engine(
                target, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                pool_timeout=timeout, connect_args=connect,
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error, and given up on
        (``DatabaseTimeout``, nothing committed) after ``timeout`` seconds, waits for the pool included."""
        async with deadline(self.timeout), self.sessions() as session, session.begin():
            yield session
            # Writes held back on PostgreSQL go out here, inside the block: if the database refuses them
            # or the connection dies, the transaction rolls back like any other failure.
            await pgdriver.flush(session)

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """Stop the database work inside after ``seconds``: ``DatabaseTimeout``, and the connection it was
    waiting on is closed rather than returned to the pool (its state is unknown).

    The task is cancelled twice. Cancelled once in the middle of a query, psycopg asks the server to
    cancel it and waits for that, which takes seconds more over a network that does not answer; the
    second cancel makes it close the connection at once. SQLAlchemy closes (invalidates) a connection
    whose statement was cancelled, so that no rollback is ever sent down a connection that does not
    answer; a connection used through ``pgdriver`` is closed by psycopg itself."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    sent = 0

    def cancel() -> None:
        nonlocal sent, timer
        sent += 1
        task.cancel()
        if sent == 1:
            timer = loop.call_soon(cancel)

    timer = loop.call_later(seconds, cancel)
    try:
        yield
    except BaseException as exc:
        timer.cancel()
        if sent and _uncancel(task, sent) == 0:  # ours, not a shutdown's
            raise DatabaseTimeout(f"the database did not answer within {seconds:g} s") from exc
        raise
    timer.cancel()
    if sent:
        _uncancel(task, sent)


def _uncancel(task: asyncio.Task, times: int) -> int:
    """Take back ``times`` cancellations of ``task``; how many of others' remain."""
    for _ in range(times):
        task.uncancel()
    return task.cancelling()
