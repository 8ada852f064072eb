"""Linking chat identities to people the config file already knows (no platform SDK here)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Person


async def slack_person_id(db: Database, slack_user_id: str) -> int | None:
    """The active person linked to this Slack user, if any."""
    async with db.sessions() as session:
        return await session.scalar(
            select(Person.id).where(Person.slack_user_id == slack_user_id, Person.active.is_(True)))


async def link_slack_by_email(db: Database, slack_user_id: str, email: str) -> int | None:
    """Link a Slack user to the person with this (Slack-verified) email, unless that person already
    has another Slack id. Returns the person's id, or None when nobody matches."""
    if not email or "@" not in email:
        return None
    async with db.transaction() as session:
        person = await session.scalar(select(Person).where(func.lower(Person.email) == email.strip().lower()))
        if person is None or not person.active:
            return None
        if person.slack_user_id not in (None, slack_user_id):
            return None
        person.slack_user_id = slack_user_id
        return person.id
