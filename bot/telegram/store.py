"""What the Telegram surface remembers: posted card copies, chat bindings, who started the bot (the updates
themselves: ``storage.inbound``; receipts and card claims: ``bot.chat.receipts`` and ``bot.chat.claims``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from bot.chat import copies
from bot.chat.contract import Copy
from bot.telegram.platform import NAME
from storage import identity
from storage.db import Database
from storage.models import ChatBinding, ChatMessageRef, Incident, Membership, Person, Team
from storage.roles import Role

PLATFORM = NAME


@dataclass(frozen=True)
class ChatTeam:
    id: int
    name: str


async def save_ref(db: Database, incident_id: int, chat_id: int, message_id: int, now: datetime, *,
                   thread_id: int | None = None, kind: str = "card", person_id: int | None = None) -> None:
    """Remember a posted copy of an incident card so later changes edit it."""
    copy = Copy(str(chat_id), str(message_id), str(thread_id) if thread_id is not None else None, kind)
    await copies.add(db, PLATFORM, incident_id, copy, now, person_id=person_id)


async def is_card_copy(db: Database, number: int, chat_id: int, message_id: int) -> bool:
    """Whether the message is a copy of incident ``number``'s card (or a page that carries its buttons)."""
    async with db.sessions() as session:
        found = await session.scalar(
            select(ChatMessageRef.id).join(Incident, Incident.id == ChatMessageRef.incident_id)
            .where(Incident.number == number, ChatMessageRef.platform == PLATFORM,
                   ChatMessageRef.chat_id == str(chat_id), ChatMessageRef.message_id == str(message_id))
            .limit(1))
    return found is not None


async def team_for_chat(db: Database, chat_id: int, thread_id: int | None) -> ChatTeam | None:
    """The team bound to this group (and topic): an exact topic match first, then the whole group."""
    topic = str(thread_id) if thread_id is not None else None
    async with db.sessions() as session:
        rows = (await session.execute(
            select(Team.id, Team.name, ChatBinding.thread).join(ChatBinding, ChatBinding.team_id == Team.id)
            .where(ChatBinding.platform == PLATFORM, ChatBinding.chat == str(chat_id),
                   or_(ChatBinding.thread.is_(None), ChatBinding.thread == topic))
        )).all()
    best = sorted(rows, key=lambda r: (r.thread is None, r.name))
    return ChatTeam(best[0].id, best[0].name) if best else None


async def team_named(db: Database, name: str) -> ChatTeam | None:
    async with db.sessions() as session:
        team = await session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    return ChatTeam(team.id, team.name) if team else None


async def roster(db: Database, team_id: int, least: Role = Role.RESPONDER) -> dict[Role, list[str]]:
    """Active members holding ``least`` or a higher role, names grouped by role, highest role first."""
    async with db.sessions() as session:
        rows = (await session.execute(
            select(Membership.role, Person.name)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.team_id == team_id, Person.active.is_(True))
            .order_by(Person.name)
        )).all()
    grouped: dict[Role, list[str]] = {}
    for role, name in sorted(rows, key=lambda r: -Role(r[0]).rank):
        if Role(role).rank >= least.rank:
            grouped.setdefault(Role(role), []).append(name)
    return grouped


async def mark_started(db: Database, telegram_user_id: int, now: datetime) -> str | None:
    """A linked person opened a private chat with the bot: from now on it can DM them. Their name, or None."""
    return await identity.set_reachable(db, PLATFORM, str(telegram_user_id), now, keep_earlier=True)
