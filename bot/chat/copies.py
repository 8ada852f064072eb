"""Where the copies of every incident card live, on every platform (``chat_message_ref``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.chat.contract import Copy
from storage.db import Database
from storage.models import ChatMessageRef

SHOWN = ("card", "page")


async def add(db: Database, platform: str, incident_id: int, copy: Copy, now: datetime, *,
              person_id: int | None = None) -> None:
    """Remember a posted copy so that every later change edits it too (once, however often it is told)."""
    async with db.transaction() as session:
        exists = await session.scalar(select(ChatMessageRef.id).where(
            ChatMessageRef.platform == platform, ChatMessageRef.chat_id == copy.chat,
            ChatMessageRef.message_id == copy.message))
        if exists is None:
            session.add(ChatMessageRef(incident_id=incident_id, platform=platform, kind=copy.kind, chat_id=copy.chat,
                                       message_id=copy.message, thread_id=copy.thread, person_id=person_id,
                                       created_at=now))


async def rows(db: Database, platform: str, incident_id: int) -> list[ChatMessageRef]:
    """Every message on ``platform`` showing this incident's card, oldest first (the team's card first)."""
    async with db.sessions() as session:
        found = await session.scalars(select(ChatMessageRef).where(
            ChatMessageRef.incident_id == incident_id, ChatMessageRef.platform == platform,
            ChatMessageRef.kind.in_(SHOWN)).order_by(ChatMessageRef.id))
        return list(found.all())


async def of(db: Database, platform: str, incident_id: int) -> list[Copy]:
    return [Copy(r.chat_id, r.message_id, r.thread_id, r.kind) for r in await rows(db, platform, incident_id)]
