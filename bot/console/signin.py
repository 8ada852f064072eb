"""Who uses the console: a configured person, signed in through a one-time link, acting as themselves.

At sign-in their email becomes their account on the ``console`` platform (a chat identity, as the shell
links it), so every press resolves to that person and the role table decides what they may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot.console import sessions
from bot.console.platform import NAME
from bot.container import Container
from storage import identity
from storage.actors import Actor, Source
from storage.directory import Readable
from storage.errors import PermissionDenied, UnknownActor
from storage.models import Person


class SignInRefused(Exception):
    """Nobody with that email may read incidents; the message says what to do."""


@dataclass(frozen=True)
class Visitor:
    """A signed-in browser: how its person acts, what they may read, the CSRF token of their forms."""

    actor: Actor
    readable: Readable
    csrf: str


async def _person(container: Container, email: str) -> tuple[int, str]:
    """The id and email (as configured) of the person who may read incidents, or SignInRefused."""
    try:
        await container.queries.readable(Actor(Source.API, email))  # by email, as an API token's person
    except UnknownActor:
        raise SignInRefused(f"no person with email {email}: add them under people: in the config file "
                            "and run `tocsin config apply FILE`") from None
    except PermissionDenied as exc:
        raise SignInRefused(str(exc)) from None
    async with container.db.sessions() as session:
        row = (await session.execute(select(Person.id, Person.email).where(
            func.lower(Person.email) == email.strip().lower()))).one()
    return row[0], row[1]


async def login_link(container: Container, email: str) -> str:
    """A one-time sign-in link for ``email``, under the console's public base URL."""
    person_id, _ = await _person(container, email.strip())
    token = await sessions.issue_link(container.db, person_id, container.clock.now())
    return f"{container.settings.console_url.rstrip('/')}/login/{token}"


async def sign_in(container: Container, token: str) -> str | None:
    """Follow a link: the new session's id (the cookie), or None for a used, expired or unknown link."""
    opened = await sessions.redeem(container.db, token, container.clock.now())
    if opened is None:
        return None
    sid, session = opened
    async with container.db.sessions() as db_session:
        email = await db_session.scalar(select(Person.email).where(Person.id == session.person_id))
    if email:
        # From now on pages may go to the console: its notification view keeps them until they are read.
        await identity.link(container.db, session.person_id, NAME, email, reachable_at=container.clock.now())
    return sid


async def visitor(container: Container, sid: str | None) -> Visitor | None:
    """The signed-in person behind a session cookie, or None (no session, expired, or no longer allowed)."""
    session = await sessions.find(container.db, sid, container.clock.now()) if sid else None
    if session is None:
        return None
    async with container.db.sessions() as db_session:
        row = (await db_session.execute(select(Person.email, Person.name).where(
            Person.id == session.person_id))).one_or_none()
    if row is None or not row[0]:
        return None
    actor = Actor(NAME, row[0], row[1])
    try:
        readable = await container.queries.readable(actor)
    except (UnknownActor, PermissionDenied):
        return None
    return Visitor(actor, readable, session.csrf)
