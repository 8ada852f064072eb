"""Back up a Tocsin database to one file and restore it: SQLite's online backup, pg_dump and pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import URL, make_url

from storage.db import sync_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


def backup(url: str, target: Path) -> None:
    """Copy the database at ``url`` into the new file ``target``; safe while ``serve`` runs."""
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file, choose a new name")
    partial = target.with_name(target.name + ".partial")
    try:
        if _is_sqlite(url):
            _sqlite_copy(_sqlite_path(url), partial, must_exist=True)
        else:
            _pg_tool("pg_dump", url, "--format=custom", "--no-owner", "--file", str(partial))
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)


def restore(url: str, source: Path, *, replace: bool = False) -> None:
    """Load the backup ``source`` into the database at ``url``, which must hold no incidents unless ``replace``."""
    _check_backup_file(source, "SQLite" if _is_sqlite(url) else "PostgreSQL")
    held = incident_count(url)
    if held and not replace:
        raise BackupError(f"the database already holds {held} incident(s): restore into an empty database, "
                          "or pass --replace to overwrite everything in it (stop tocsin serve first)")
    if _is_sqlite(url):
        _sqlite_copy(source, _sqlite_path(url), must_exist=False)
    else:
        _pg_tool("pg_restore", url, "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", "--exit-on-error", str(source))


def incident_count(url: str) -> int:
    """How many incidents the database holds (0 when it has no schema yet)."""
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("incident"):
                return 0
            return conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
    finally:
        engine.dispose()


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path, *, must_exist: bool) -> None:
    if must_exist and not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    # The backup API copies a consistent snapshot while other connections keep writing (WAL).
    with _sqlite(source, "ro") as src, _sqlite(target, "rwc") as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it


def _sqlite(path: Path, mode: str) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)


def _check_backup_file(source: Path, kind: str) -> None:
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    with source.open("rb") as file:
        head = file.read(16)
    expected = SQLITE_MAGIC if kind == "SQLite" else PG_CUSTOM_MAGIC
    if not head.startswith(expected):
        raise BackupError(f"{source} is not a {kind} backup made by tocsin backup")


def _pg_tool(tool: str, url: str, *args: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} not found: install PostgreSQL's client tools (Debian: postgresql-client), "
                          "of the server's major version or newer")
    parsed = make_url(url)
    env = {**os.environ, "PGPASSWORD": parsed.password} if parsed.password else dict(os.environ)
    # The password goes in the environment, not on the command line where ps would show it.
    done = subprocess.run([tool, "--dbname", _libpq_url(parsed), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        if parsed.password:
            reason = reason.replace(parsed.password, "***")
        raise BackupError(f"{tool} failed: {reason}")


def _libpq_url(parsed: URL) -> str:
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
