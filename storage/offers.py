"""Shift swaps: a person offers a shift of theirs, another person of the team takes it, which becomes an
override (storage/overrides.py) putting the taker on call instead of them. Every offer, take and cancel is
a row of ``oncall_offer_event``, which the database keeps append-only.

The offer is by the person on call for all of the offered time (or by a team lead or above for them);
anyone with a role in the schedule's team may take it, except its own person; its person or a team lead
may cancel it while nobody took it. Taking is one conditional UPDATE, so of two takers at once (in any
processes) exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import directory, oncall, overrides, schedules
from storage.actors import Actor, Source
from storage.directory import Principal, Readable
from storage.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from storage.models import OncallOffer, OncallOfferEvent, Person

NEXT_SHIFT_HORIZON = timedelta(days=60)  # how far "next" looks for the person's next shift
OTHERS_ROLE = overrides.OTHERS_ROLE  # the least role that offers or cancels another person's shift


@dataclass(frozen=True)
class Offer:
    id: int
    schedule: oncall.Schedule
    who: str  # whose shift
    start: datetime
    end: datetime
    created_by: str


@dataclass(frozen=True)
class Taken:
    offer: Offer
    override: overrides.Created


def _at(t: datetime, zone) -> str:
    return f"{t.astimezone(zone):%a %d %b %H:%M %Z}"


async def _role_or_refuse(session: AsyncSession, principal: Principal, schedule: oncall.Schedule, verb: str):
    role = await overrides.role_for(session, principal, schedule)
    if role is None:
        where = f"team {schedule.team}" if schedule.team else "any team"
        raise PermissionDenied(f"{principal.name} has no role in {where}, so may not {verb} shifts of {schedule.name}")
    return role


async def _for_someone_else(session: AsyncSession, principal: Principal, schedule: oncall.Schedule,
                            person_id: int, verb: str) -> None:
    """Refuse unless ``principal`` is the person ``person_id`` or team lead or above in the schedule's team."""
    role = await _role_or_refuse(session, principal, schedule, verb)
    if principal.person is not None and principal.person.id == person_id:
        return
    if role.rank < OTHERS_ROLE.rank:
        where = f"team {schedule.team}" if schedule.team else "any team"
        raise PermissionDenied(f"{principal.name} is {role.value} in {where}; to {verb} someone else's shift it "
                               f"needs {OTHERS_ROLE.value} or above (anyone may {verb} their own)")


def _audit(session: AsyncSession, row: OncallOffer, kind: str, principal: Principal, at: datetime) -> None:
    session.add(OncallOfferEvent(
        offer_id=row.id, kind=kind, actor_person_id=principal.person_id, actor_source=principal.actor.source,
        actor_name=principal.name, at=at,
        data={"schedule": row.schedule, "person_id": row.person_id, "taken_by_person_id": row.taken_by_person_id,
              "override_id": row.override_id, "start": row.start_at.isoformat(), "end": row.end_at.isoformat()}))


async def _window(session: AsyncSession, schedule: oncall.Schedule, whose: Person, start: datetime | None,
                  end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The offered time: as given (``whose`` must be on call for all of it), or their shift running or next."""
    covering = (await overrides.active(session, now, [schedule.name])).get(schedule.name, [])
    zone = schedule.zone
    if start is None or end is None:
        for shift in oncall.timeline(schedule, now, now + NEXT_SHIFT_HORIZON, covering):
            if shift.who == whose.email:
                return shift.start, shift.end
        raise NotFound(f"no shift of {schedule.name} is {whose.email}'s in the next {NEXT_SHIFT_HORIZON.days} "
                       "days; '/incident oncall' shows who is on call")
    if end <= start:
        raise InvalidInput(f"the offered shift ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
                           "give the start first")
    if end <= now:
        raise InvalidInput(f"the offered shift would be over already (it ends {end.isoformat()}); give a time to come")
    for shift in oncall.timeline(schedule, max(start, now), end, covering):
        if shift.who != whose.email:
            raise InvalidInput(f"the offered time is not all {whose.email}'s shift: {shift.who or 'nobody'} is on "
                               f"call from {_at(shift.start, zone)}; offer a time of their own shift "
                               "('/incident oncall' shows the shifts)")
    return start, end


async def offer(session: AsyncSession, actor: Actor, schedule_name: str, whose: Person, start: datetime | None,
                end: datetime | None, now: datetime) -> Offer:
    """Offer ``whose``'s shift of ``schedule_name`` in [start, end) (both None: their shift running or next)."""
    principal = await directory.resolve(session, actor)
    schedule = await overrides.schedule_named(session, schedule_name)
    await _for_someone_else(session, principal, schedule, whose.id, "offer")
    start, end = await _window(session, schedule, whose, start, end, now)
    clash = await session.scalar(select(OncallOffer.id).where(*_open(now), OncallOffer.schedule == schedule.name,
                                                              OncallOffer.person_id == whose.id,
                                                              OncallOffer.start_at < end, OncallOffer.end_at > start))
    if clash is not None:
        raise InvalidTransition(f"this overlaps offer {clash} of {schedule.name}, still open; cancel it first "
                                f"(/incident oncall cancel offer {clash})")
    row = OncallOffer(schedule=schedule.name, person_id=whose.id, start_at=start, end_at=end,
                      created_by=principal.name, created_at=now)
    session.add(row)
    await session.flush()
    _audit(session, row, "offered", principal, now)
    return Offer(row.id, schedule, whose.email or "?", start, end, principal.name)


def _open(now: datetime) -> tuple:
    return OncallOffer.taken_at.is_(None), OncallOffer.cancelled_at.is_(None), OncallOffer.end_at > now


async def _still_open(session: AsyncSession, offer_id: int, now: datetime) -> OncallOffer:
    row = await session.get(OncallOffer, offer_id)
    if row is None:
        raise NotFound(f"there is no shift offer {offer_id}; '/incident oncall offers' lists them")
    if row.taken_at is not None:
        taker = await session.get(Person, row.taken_by_person_id)
        raise InvalidTransition(f"offer {offer_id} was already taken by {taker.email if taker else '?'}")
    if row.cancelled_at is not None:
        raise InvalidTransition(f"offer {offer_id} was cancelled at {row.cancelled_at.isoformat()}")
    if row.end_at <= now:
        raise InvalidTransition(f"offer {offer_id}'s shift is over ({row.end_at.isoformat()})")
    return row


async def take(session: AsyncSession, actor: Actor, offer_id: int, taker: Person | None, now: datetime) -> Taken:
    """``taker`` (default: the actor's person) takes offer ``offer_id``: an override puts them on call from
    the offer's start (or now) to its end, instead of the offer's person. Taking for someone else needs a lead."""
    principal = await directory.resolve(session, actor)
    row = await _still_open(session, offer_id, now)
    schedule = await overrides.schedule_named(session, row.schedule)
    taker = taker or principal.person
    if taker is None:
        raise InvalidInput(f"{principal.name} is no person; name who takes the shift (person: an email address)")
    if taker.id == principal.person_id:
        await _role_or_refuse(session, principal, schedule, "take")
    else:
        await _for_someone_else(session, principal, schedule, taker.id, "take")
        if await overrides.role_for(session, Principal(Actor(Source.API, taker.email or ""), taker), schedule) is None:
            raise PermissionDenied(f"{taker.email} has no role in team {schedule.team}, so cannot take its shifts")
    if taker.id == row.person_id:
        raise InvalidInput(f"offer {offer_id} is your own shift; '/incident oncall cancel offer {offer_id}' withdraws it")
    whose = await session.get(Person, row.person_id)
    taken = await session.execute(update(OncallOffer).where(OncallOffer.id == row.id, *_open(now))
                                  .values(taken_at=now, taken_by_person_id=taker.id))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransition(f"offer {offer_id} was taken or cancelled a moment ago")
    made = await overrides.insert(session, principal, schedule, taker, whose, max(row.start_at, now), row.end_at, now)
    await session.execute(update(OncallOffer).where(OncallOffer.id == row.id).values(override_id=made.id))
    await session.refresh(row)
    _audit(session, row, "taken", principal, now)
    return Taken(Offer(row.id, schedule, whose.email or "?", row.start_at, row.end_at, row.created_by), made)


async def cancel(session: AsyncSession, actor: Actor, offer_id: int, now: datetime) -> OncallOffer:
    """Withdraw an offer nobody took: its person may, others need team lead or above; audited."""
    principal = await directory.resolve(session, actor)
    row = await _still_open(session, offer_id, now)
    schedule = await overrides.schedule_named(session, row.schedule)
    await _for_someone_else(session, principal, schedule, row.person_id, "cancel")
    done = await session.execute(update(OncallOffer).where(OncallOffer.id == row.id, *_open(now))
                                 .values(cancelled_at=now))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransition(f"offer {offer_id} was taken or cancelled a moment ago")
    await session.refresh(row)
    _audit(session, row, "cancelled", principal, now)
    return row


async def listing(session: AsyncSession, reader: Readable, now: datetime,
                  schedule_name: str | None = None) -> list[Offer]:
    """The open offers (nobody took them, not cancelled, not over) of the schedules ``reader`` may see."""
    visible = {s.name: s for s in await schedules.readable(session, reader)}
    if schedule_name is not None:
        schedule = await overrides.schedule_named(session, schedule_name)
        if schedule.name not in visible:
            raise PermissionDenied(f"{reader.name} has no role in team {schedule.team}, so may not read "
                                   f"{schedule.name}'s shift offers")
        visible = {schedule.name: schedule}
    rows = (await session.execute(
        select(OncallOffer, Person.email).join(Person, Person.id == OncallOffer.person_id)
        .where(*_open(now), OncallOffer.schedule.in_(list(visible)))
        .order_by(OncallOffer.start_at, OncallOffer.id))).all()
    return [Offer(r.id, visible[r.schedule], email or "?", r.start_at, r.end_at, r.created_by) for r, email in rows]

