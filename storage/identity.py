"""People's chat accounts, keyed by platform: who an external id is, and linking one to a person.

A platform names itself (a short string); nothing here knows any platform. ``reachable_at`` says since
when the platform lets Tocsin write to the person directly (None: not yet).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ChatIdentity, Person

_KEEP = object()  # link(): leave reachable_at as it is when the account was already linked to this person


async def find(session: AsyncSession, platform: str, external_id: str) -> Person | None:
    """The active person behind ``external_id`` on ``platform``, or None."""
    person = await session.scalar(select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id)
                                  .where(ChatIdentity.platform == platform,
                                         ChatIdentity.external_id == external_id.strip()))
    return person if person is not None and person.active else None


async def person_for(db: Database, platform: str, external_id: str) -> int | None:
    """The id of the active person linked to ``external_id`` on ``platform``, if any."""
    async with db.sessions() as session:
        person = await find(session, platform, external_id)
        return person.id if person else None


async def link_in(session: AsyncSession, person_id: int, platform: str, external_id: str, *,
                  reachable_at: datetime | None | object = _KEEP) -> bool:
    """Make ``external_id`` the person's account on ``platform`` (moving it from whoever had it, replacing
    the person's previous one). ``reachable_at`` left out: kept if the same account was linked already,
    else None. Returns whether anything changed."""
    external_id = external_id.strip()
    rows = (await session.scalars(select(ChatIdentity).where(
        ChatIdentity.platform == platform,
        (ChatIdentity.person_id == person_id) | (ChatIdentity.external_id == external_id)))).all()
    mine = next((r for r in rows if r.person_id == person_id and r.external_id == external_id), None)
    if mine is not None:
        if reachable_at is _KEEP or mine.reachable_at == reachable_at:
            return False
        mine.reachable_at = reachable_at  # type: ignore[assignment]
        return True
    for row in rows:  # the person's old account, and this account held by someone else
        await session.delete(row)
    await session.flush()
    session.add(ChatIdentity(person_id=person_id, platform=platform, external_id=external_id,
                             reachable_at=None if reachable_at is _KEEP else reachable_at))
    await session.flush()
    await _reload(session, {person_id} | {r.person_id for r in rows})
    return True


async def _reload(session: AsyncSession, person_ids: set[int]) -> None:
    """People already loaded in ``session`` see their accounts as they are now."""
    for person in list(session.identity_map.values()):
        if isinstance(person, Person) and person.id in person_ids:
            await session.refresh(person, ["identities"])


async def link(db: Database, person_id: int, platform: str, external_id: str, *,
               reachable_at: datetime | None) -> None:
    """Link ``external_id`` on ``platform`` to the person (see ``link_in``), reachable since ``reachable_at``."""
    async with db.transaction() as session:
        await link_in(session, person_id, platform, external_id, reachable_at=reachable_at)


async def unlink_in(session: AsyncSession, person_id: int, platform: str) -> bool:
    """Forget the person's account on ``platform``; whether there was one."""
    gone = await session.execute(delete(ChatIdentity).where(ChatIdentity.person_id == person_id,
                                                            ChatIdentity.platform == platform))
    await _reload(session, {person_id})
    return bool(gone.rowcount)  # type: ignore[attr-defined]


async def set_reachable(db: Database, platform: str, external_id: str, at: datetime | None, *,
                        keep_earlier: bool = False) -> str | None:
    """The account can be written to directly since ``at`` (None: no longer). ``keep_earlier``: an earlier
    time already recorded stays. Returns the person's name, or None when the account is not linked."""
    async with db.transaction() as session:
        row = await session.scalar(select(ChatIdentity).where(ChatIdentity.platform == platform,
                                                              ChatIdentity.external_id == external_id.strip()))
        if row is None:
            return None
        if not (keep_earlier and row.reachable_at is not None and at is not None):
            row.reachable_at = at
        person = await session.get_one(Person, row.person_id)
        return person.name


async def link_by_email(db: Database, platform: str, external_id: str, email: str, *,
                        reachable_at: datetime | None) -> int | None:
    """Link ``external_id`` to the active person with this email (verified by the platform), unless that
    person already has another account there. Returns the person's id, or None when nobody matches."""
    if not email or "@" not in email:
        return None
    async with db.transaction() as session:
        person = await session.scalar(select(Person).where(func.lower(Person.email) == email.strip().lower()))
        if person is None or not person.active:
            return None
        current = person.identity(platform)
        if current is not None and current.external_id != external_id.strip():
            return None
        await link_in(session, person.id, platform, external_id,
                      reachable_at=reachable_at if current is None else _KEEP)
        return person.id
