"""Database engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import pgdriver

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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        target = async_url(url)
        self.dialect = make_url(target).get_backend_name()
        if self.dialect == "sqlite":
            # One connection: SQLite has one writer, and queueing in the pool beats "database is locked".
            self.engine: AsyncEngine = create_async_engine(
                target, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60
            )
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_async_engine(
                target, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session
            # Writes held back on PostgreSQL go out here, inside the block: if the database refuses them
            # or the connection dies, the transaction rolls back like any other failure.
            await pgdriver.flush(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
