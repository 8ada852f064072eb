"""On-call overrides in the database: someone covers a schedule from..to; every create and cancel is audited.

Anyone with a role in the schedule's team may put themselves on call; covering for, or putting on call,
someone else needs team lead or above there (admins anywhere). The engine (storage/oncall.py) applies
them, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import directory, oncall, schedules
from storage.actors import Actor, Source
from storage.directory import Principal, Readable
from storage.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from storage.models import OncallOverride, OncallOverrideEvent, Person
from storage.roles import Role

OTHERS_ROLE = Role.TEAM_LEAD  # the least role that puts someone else on call


@dataclass(frozen=True)
class Created:
    id: int
    schedule: oncall.Schedule
    who: str
    for_whom: str | None
    start: datetime
    end: datetime


async def active(session: AsyncSession, now: datetime, names: list[str] | None = None) -> dict[str, list[oncall.Override]]:
    """The overrides not cancelled and not yet over at ``now``, per schedule name, as the engine takes them."""
    query = (select(OncallOverride, Person.email).join(Person, Person.id == OncallOverride.person_id)
             .where(OncallOverride.cancelled_at.is_(None), OncallOverride.end_at > now)
             .order_by(OncallOverride.id))
    if names is not None:
        query = query.where(OncallOverride.schedule.in_(names))
    found: dict[str, list[oncall.Override]] = {}
    for row, email in (await session.execute(query)).all():
        found.setdefault(row.schedule, []).append(
            oncall.Override(email, row.start_at, row.end_at, row.created_at, row.id))
    return found


async def person_by_email(session: AsyncSession, email: str) -> Person:
    """The active person with ``email``; nobody is refused by name."""
    person = await directory.find_person(session, Actor(Source.API, email))
    if person is None:
        raise NotFound(f"{email!r} is not an active Tocsin person's email")
    return person


async def schedule_named(session: AsyncSession, name: str) -> oncall.Schedule:
    """The applied schedule called ``name``; an unknown name is refused with the known ones."""
    found = await schedules.applied(session)
    for s in found:
        if s.name == name:
            return s
    known = ", ".join(s.name for s in found) or "none: schedules are set in the config file (docs/oncall.md)"
    raise NotFound(f"there is no on-call schedule {name!r} (known: {known})")


async def role_for(session: AsyncSession, principal: Principal, schedule: oncall.Schedule) -> Role | None:
    """``principal``'s role in the schedule's team (a schedule without a team: their best role)."""
    team_id = (await directory.team_by_name(session, schedule.team)).id if schedule.team else None
    return await directory.role_in(session, principal, team_id)


async def _check(session: AsyncSession, principal: Principal, schedule: oncall.Schedule,
                 people: list[Person], verb: str) -> None:
    """Refuse unless ``principal`` may ``verb`` an override of ``schedule`` concerning ``people``."""
    role = await role_for(session, principal, schedule)
    where = f"team {schedule.team}" if schedule.team else "any team"
    if role is None:
        raise PermissionDenied(f"{principal.name} has no role in {where}, so may not {verb} overrides of "
                               f"{schedule.name}")
    only_self = principal.person is not None and all(p.id == principal.person.id for p in people)
    if not only_self and role.rank < OTHERS_ROLE.rank:
        raise PermissionDenied(f"{principal.name} is {role.value} in {where}; to {verb} an override for someone "
                               f"else it needs {OTHERS_ROLE.value} or above (anyone may put themselves on call)")


def _audit(session: AsyncSession, row: OncallOverride, kind: str, principal: Principal, at: datetime) -> None:
    session.add(OncallOverrideEvent(
        override_id=row.id, kind=kind, actor_person_id=principal.person_id, actor_source=principal.actor.source,
        actor_name=principal.name, at=at,
        data={"schedule": row.schedule, "person_id": row.person_id, "for_person_id": row.for_person_id,
              "start": row.start_at.isoformat(), "end": row.end_at.isoformat()}))


async def create(session: AsyncSession, actor: Actor, schedule_name: str, who: Person, for_whom: Person | None,
                 start: datetime, end: datetime, now: datetime) -> Created:
    """Put ``who`` on call for ``schedule_name`` in [start, end) (covering ``for_whom``), audited."""
    principal = await directory.resolve(session, actor)
    schedule = await schedule_named(session, schedule_name)
    if end <= start:
        raise InvalidInput(f"the override ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
                           "give the start first")
    if end <= now:
        raise InvalidInput(f"the override would be over already (it ends {end.isoformat()}); give a time to come")
    if not who.email or not who.active:
        raise InvalidInput(f"{who.name} has no email address or is not active, so cannot be paged when on call")
    await _check(session, principal, schedule, [who] + ([for_whom] if for_whom else []), "create")
    return await insert(session, principal, schedule, who, for_whom, start, end, now)


async def insert(session: AsyncSession, principal: Principal, schedule: oncall.Schedule, who: Person,
                 for_whom: Person | None, start: datetime, end: datetime, now: datetime) -> Created:
    """Write the override and its audit row; the caller has checked that ``principal`` may (``create``,
    or a shift offer taken: storage/offers.py)."""
    row = OncallOverride(schedule=schedule.name, person_id=who.id, for_person_id=for_whom.id if for_whom else None,
                         start_at=start, end_at=end, created_by=principal.name, created_at=now)
    session.add(row)
    await session.flush()
    _audit(session, row, "created", principal, now)
    return Created(row.id, schedule, who.email, for_whom.email if for_whom else None, start, end)


async def cancel(session: AsyncSession, actor: Actor, override_id: int, now: datetime) -> OncallOverride:
    """Cancel override ``override_id`` (the person covering may; others need team lead or above), audited."""
    principal = await directory.resolve(session, actor)
    row = await session.get(OncallOverride, override_id)
    if row is None:
        raise NotFound(f"there is no on-call override {override_id}; '/incident oncall overrides' lists them")
    if row.cancelled_at is not None:
        raise InvalidTransition(f"override {override_id} was already cancelled at {row.cancelled_at.isoformat()}")
    schedule = await schedule_named(session, row.schedule)
    await _check(session, principal, schedule, [await session.get(Person, row.person_id)], "cancel")
    row.cancelled_at = now
    _audit(session, row, "cancelled", principal, now)
    return row


@dataclass(frozen=True)
class Listed:
    id: int
    schedule: oncall.Schedule
    who: str
    for_whom: str | None
    start: datetime
    end: datetime
    created_by: str


async def listing(session: AsyncSession, reader: Readable, now: datetime,
                  schedule_name: str | None = None) -> list[Listed]:
    """The overrides still to come or running, of the schedules ``reader`` may see (or of one of them)."""
    visible = {s.name: s for s in await schedules.readable(session, reader)}
    if schedule_name is not None:
        schedule = await schedule_named(session, schedule_name)
        if schedule.name not in visible:
            raise PermissionDenied(f"{reader.name} has no role in team {schedule.team}, so may not read "
                                   f"{schedule.name}'s overrides")
        visible = {schedule.name: schedule}
    emails = dict((await session.execute(select(Person.id, Person.email))).all())
    rows = await session.scalars(select(OncallOverride).where(
        OncallOverride.cancelled_at.is_(None), OncallOverride.end_at > now,
        OncallOverride.schedule.in_(list(visible))).order_by(OncallOverride.start_at, OncallOverride.id))
    return [Listed(r.id, visible[r.schedule], emails.get(r.person_id) or "?",
                   emails.get(r.for_person_id) if r.for_person_id else None, r.start_at, r.end_at, r.created_by)
            for r in rows]
