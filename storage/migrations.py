"""Run Alembic migrations from code (``tocsin migrate``, start-up, tests, /readyz)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import redacted, sync_url

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "alembic"
#: The advisory lock that serialises migrations on PostgreSQL (replicas starting together on a fresh
#: database both ran the first migration, and one failed on the duplicate alembic_version table). On
#: SQLite (serve and sidecar starting together on one file) a lock file beside the database does it.
MIGRATE_LOCK = 0x70C51C0F17


class NotReady(Exception):
    """The database cannot be used as it is; the message says what to run."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head", connect_timeout: float = 5.0) -> None:
    """Upgrade to ``revision``; processes that start together take turns."""
    path = sqlite_file(url)
    if path is not None:
        with _file_lock(Path(f"{path}.migrate.lock")):
            command.upgrade(alembic_config(url), revision)
    elif make_url(sync_url(url)).get_backend_name() == "postgresql":
        _upgrade_postgres(url, revision, connect_timeout)
    else:
        command.upgrade(alembic_config(url), revision)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _engine(url: str, connect_timeout: float) -> Engine:
    """A one-off engine; on PostgreSQL a silent server is given up after ``connect_timeout`` seconds."""
    target = sync_url(url)
    if make_url(target).get_backend_name() != "postgresql":
        return create_engine(target, poolclass=pool.NullPool)
    # libpq counts whole seconds, two at least; without it a dropped-packet network hangs start-up for ever.
    connect = {"connect_timeout": max(2, math.ceil(connect_timeout))}
    return create_engine(target, poolclass=pool.NullPool, connect_args=connect)


def _upgrade_postgres(url: str, revision: str, connect_timeout: float) -> None:
    engine = _engine(url, connect_timeout)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATE_LOCK})
            conn.commit()
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATE_LOCK})
            conn.commit()
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str, connect_timeout: float = 5.0) -> str | None:
    engine = _engine(url, connect_timeout)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL and in-memory databases)."""
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).absolute()


def check_folder(url: str) -> None:
    """Refuse a SQLite file whose folder does not exist (SQLite says only "unable to open")."""
    path = sqlite_file(url)
    if path is not None and not path.parent.is_dir():
        raise NotReady(f"cannot use the database at {redacted(url)}: folder {path.parent} does not exist; "
                       "create it, or point --database-url / TOCSIN_DATABASE_URL elsewhere")


def require_current(url: str, connect_timeout: float = 5.0) -> None:
    """Refuse a database that is not migrated to this code's schema, saying how to fix it."""
    path, where = sqlite_file(url), redacted(url)
    if path is not None and not path.exists():
        raise NotReady(f"there is no database at {where} yet: run `tocsin migrate` to create it")
    alembic_log = logging.getLogger("alembic.runtime.migration")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # its "Context impl" lines are noise before a listing
    try:
        current, head = current_revision(url, connect_timeout), head_revision()
    finally:
        alembic_log.setLevel(level)
    if current == head:
        return
    if current is None:
        raise NotReady(f"the database at {where} has no Tocsin schema yet: run `tocsin migrate`")
    if current not in {s.revision for s in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()}:
        raise NotReady(f"the database at {where} is at schema {current}, newer than this Tocsin knows "
                       f"(its newest is {head}): run the Tocsin version that migrated it")
    raise NotReady(f"the database at {where} is at schema {current}, this Tocsin needs {head}: "
                   "run `tocsin migrate`")


async def is_current(engine: AsyncEngine) -> bool:
    """Whether the database behind ``engine`` is migrated to head (for /readyz)."""
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    return current == head_revision()
