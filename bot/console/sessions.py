"""Console sign-in: one-time links and server-side sessions, only their hashes in the database.

A link (``tocsin login-link EMAIL``) is used once, within ``LINK_TTL``; following it opens a session whose
random id is the browser's cookie and whose CSRF token every POST must carry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ConsoleLogin, ConsoleSession

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison (a CSRF token)."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class SignedIn:
    """A live session: whose, and the CSRF token its forms carry."""

    person_id: int
    csrf: str


async def issue_link(db: Database, person_id: int, now: datetime) -> str:
    """A new one-time sign-in token for the person (the link's last part)."""
    token = secrets.token_urlsafe(32)
    async with db.transaction() as session:
        await _forget_expired(session, now)
        session.add(ConsoleLogin(token_hash=digest(token), person_id=person_id, created_at=now,
                                 expires_at=now + LINK_TTL))
    return token


async def _forget_expired(session: AsyncSession, now: datetime) -> None:
    """Links and sessions past their time are of no use to anyone: each new link clears them away."""
    await session.execute(delete(ConsoleLogin).where(ConsoleLogin.expires_at <= now))
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))


async def redeem(db: Database, token: str, now: datetime) -> tuple[str, SignedIn] | None:
    """Use the link once: a new session's id and what it holds, or None (unknown, used or expired)."""
    async with db.transaction() as session:
        used = await session.execute(
            update(ConsoleLogin).where(ConsoleLogin.token_hash == digest(token), ConsoleLogin.used_at.is_(None),
                                       ConsoleLogin.expires_at > now).values(used_at=now))
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return None
        person_id = await session.scalar(select(ConsoleLogin.person_id).where(ConsoleLogin.token_hash == digest(token)))
        assert person_id is not None
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(ConsoleSession(id_hash=digest(sid), person_id=person_id, csrf_token=csrf, created_at=now,
                                   expires_at=now + SESSION_TTL))
    return sid, SignedIn(person_id, csrf)


async def find(db: Database, sid: str, now: datetime) -> SignedIn | None:
    """The live session behind a cookie, if any."""
    async with db.sessions() as session:
        row = await session.scalar(select(ConsoleSession).where(ConsoleSession.id_hash == digest(sid),
                                                                ConsoleSession.expires_at > now))
        return SignedIn(row.person_id, row.csrf_token) if row else None


async def end(db: Database, sid: str) -> None:
    """Sign out: the session is gone."""
    async with db.transaction() as session:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == digest(sid)))
