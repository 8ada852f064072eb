"""People and teams: resolving an actor to a person and finding their role in a team."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import identity
from storage.actors import CORE_SOURCES, Actor, Source
from storage.errors import NotFound, PermissionDenied, UnknownActor
from storage.models import Membership, Person, Team
from storage.roles import Permission, Role, allows


@dataclass(frozen=True)
class Principal:
    """An actor resolved against our database: the person (if any) and how to name them."""

    actor: Actor
    person: Person | None

    @property
    def name(self) -> str:
        return self.person.name if self.person else (self.actor.display_name or self.actor.external_id)

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person else None


async def find_person(session: AsyncSession, actor: Actor) -> Person | None:
    """The active person behind an actor: an API actor by email, a chat platform's through its linked
    account (the platform is the source); the core's other sources name no person."""
    ident = actor.external_id.strip()
    if actor.source == Source.API:
        person = await session.scalar(select(Person).where(func.lower(Person.email) == ident.lower()))
        return person if person is not None and person.active else None
    if actor.source in CORE_SOURCES:
        return None
    return await identity.find(session, actor.source, ident)


def not_linked(actor: Actor) -> UnknownActor:
    """The refusal when ``actor``'s account is no Tocsin person's (each surface says how to link)."""
    return UnknownActor(f"your {actor.source} account ({actor.external_id}) is not linked to a Tocsin person")


async def resolve(session: AsyncSession, actor: Actor) -> Principal:
    """Resolve ``actor`` to a principal; trusted system actors need no person, others must be linked."""
    person = await find_person(session, actor)
    if person is None and actor.granted_role is None:
        raise not_linked(actor)
    return Principal(actor, person)


async def role_in(session: AsyncSession, principal: Principal, team_id: int | None) -> Role | None:
    """The principal's role for an incident of ``team_id`` (their best role when there is no team)."""
    if principal.actor.granted_role is not None:
        return principal.actor.granted_role
    person = principal.person
    if person is None:
        return None
    if person.is_admin:
        return Role.ADMIN
    query = select(Membership.role).where(Membership.person_id == person.id)
    if team_id is not None:
        query = query.where(Membership.team_id == team_id)
    roles = [Role(r) for r in (await session.scalars(query)).all()]
    return max(roles, key=lambda r: r.rank) if roles else None


@dataclass(frozen=True)
class Readable:
    """The incidents a principal may read: of every team (``teams`` None), or of these team ids, where
    None stands for incidents without a team."""

    name: str
    teams: frozenset[int | None] | None

    def check(self, team_id: int | None, number: int, team_name: str | None = None) -> None:
        """Refuse reading incident ``number`` of ``team_id`` unless it is readable."""
        if self.teams is not None and team_id not in self.teams:
            raise PermissionDenied(f"{self.name} has no role in team {team_name or team_id}, so may not read "
                                   f"#{number}; it needs observer or above there")

    async def check_team(self, session: AsyncSession, name: str | None) -> None:
        """Refuse asking about team ``name`` unless its incidents are readable."""
        if name and self.teams is not None:
            team = await team_by_name(session, name)
            if team.id not in self.teams:
                raise PermissionDenied(f"{self.name} has no role in team {team.name}, so may not read its "
                                       "incidents; it needs observer or above there")


async def readable(session: AsyncSession, actor: Actor) -> Readable:
    """What ``actor`` may read: a role that views in a team opens that team's incidents (and those without
    a team); admins and trusted actors read all. Unlinked actors and people without a role are refused."""
    principal = await resolve(session, actor)
    best = await role_in(session, principal, None)
    if best is Role.ADMIN or (principal.actor.granted_role is not None and allows(best, Permission.VIEW)):
        return Readable(principal.name, None)
    if principal.person is not None:
        rows = await session.scalars(select(Membership).where(Membership.person_id == principal.person.id))
        teams = frozenset(m.team_id for m in rows if allows(Role(m.role), Permission.VIEW))
        if teams:
            return Readable(principal.name, teams | {None})
    raise PermissionDenied(f"{principal.name} has no role in any team, so may read no incidents; "
                           "a Tocsin admin adds people to teams in the config file")


async def team_by_name(session: AsyncSession, name: str) -> Team:
    team = await session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    if team is None:
        known = ", ".join((await session.scalars(select(Team.name).order_by(Team.name))).all()) or "none yet"
        raise NotFound(f"there is no team {name!r} (known teams: {known})")
    return team


async def people_with_role(session: AsyncSession, team_id: int, role: Role) -> list[Person]:
    """Active members of a team holding exactly ``role`` (escalation targets)."""
    rows = await session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.team_id == team_id, Membership.role == role.value, Person.active.is_(True))
        .order_by(Person.name)
    )
    return list(rows.all())
