"""One-time link codes: tie a chat account (on any platform) to an existing person."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update

from storage import identity
from storage.db import Database
from storage.errors import InvalidInput
from storage.models import LinkCode, Person

CODE_TTL = timedelta(minutes=30)


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


async def issue_code(db: Database, person_id: int, now: datetime) -> str:
    """A fresh code valid for 30 minutes; only its hash is stored."""
    code = secrets.token_hex(4).upper()
    async with db.transaction() as session:
        session.add(LinkCode(code_hash=_hash(code), person_id=person_id, created_at=now, expires_at=now + CODE_TTL))
    return code


async def redeem(db: Database, code: str, platform: str, external_id: str, now: datetime, *,
                 reachable_at: datetime | None) -> Person:
    """Use a code to link ``external_id`` on ``platform`` to the code's person (taking it from anyone who
    had it); each code works once. ``reachable_at``: since when the platform lets us write to them."""
    async with db.transaction() as session:
        claimed = await session.execute(
            update(LinkCode)
            .where(LinkCode.code_hash == _hash(code), LinkCode.used_at.is_(None), LinkCode.expires_at > now)
            .values(used_at=now)
            .returning(LinkCode.person_id)
        )
        person_id = claimed.scalar()
        if person_id is None:
            raise InvalidInput("that link code is unknown, used or expired; ask for a new one with /incident link")
        await identity.link_in(session, person_id, platform, external_id, reachable_at=reachable_at)
        return await session.get_one(Person, person_id)
