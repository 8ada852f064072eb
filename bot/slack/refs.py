"""Where Slack copies of a card live (``chat_message_ref`` rows with platform "slack")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import ChatMessageRef, Team

PLATFORM = "slack"


async def add(db: Database, incident_id: int, channel: str, ts: str, now: datetime, *, kind: str = "card",
              person_id: int | None = None, thread: str | None = None) -> None:
    async with db.transaction() as session:
        exists = await session.scalar(select(ChatMessageRef.id).where(
            ChatMessageRef.platform == PLATFORM, ChatMessageRef.chat_id == channel, ChatMessageRef.message_id == ts))
        if exists is None:
            session.add(ChatMessageRef(incident_id=incident_id, platform=PLATFORM, kind=kind, chat_id=channel,
                                       message_id=ts, thread_id=thread, person_id=person_id, created_at=now))


async def copies(db: Database, incident_id: int) -> list[ChatMessageRef]:
    """Every Slack message showing this incident's card, oldest first (the channel card comes first)."""
    async with db.sessions() as session:
        rows = await session.scalars(select(ChatMessageRef).where(
            ChatMessageRef.incident_id == incident_id, ChatMessageRef.platform == PLATFORM,
            ChatMessageRef.kind.in_(("card", "page"))).order_by(ChatMessageRef.id))
        return list(rows.all())



async def channel_team(db: Database, channel: str | None) -> str | None:
    """The name of the team whose Slack channel this is, if any."""
    if not channel:
        return None
    async with db.sessions() as session:
        return await session.scalar(select(Team.name).where(Team.slack_channel_id == channel).order_by(Team.name))
