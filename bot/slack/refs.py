"""Where Slack copies of a card live (``bot.chat.copies`` with platform "slack"), and which team a channel is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.chat import copies as shared
from bot.chat.contract import Copy
from bot.slack.platform import NAME
from storage.db import Database
from storage.models import ChatBinding, ChatMessageRef, Team

PLATFORM = NAME


async def add(db: Database, incident_id: int, channel: str, ts: str, now: datetime, *, kind: str = "card",
              person_id: int | None = None, thread: str | None = None) -> None:
    await shared.add(db, PLATFORM, incident_id, Copy(channel, ts, thread, kind), now, person_id=person_id)


async def copies(db: Database, incident_id: int) -> list[ChatMessageRef]:
    """Every Slack message showing this incident's card, oldest first (the channel card comes first)."""
    return await shared.rows(db, PLATFORM, incident_id)


async def channel_team(db: Database, channel: str | None) -> str | None:
    """The name of the team whose Slack channel this is, if any."""
    if not channel:
        return None
    async with db.sessions() as session:
        return await session.scalar(select(Team.name).join(ChatBinding, ChatBinding.team_id == Team.id)
                                    .where(ChatBinding.platform == NAME, ChatBinding.chat == channel)
                                    .order_by(Team.name))
