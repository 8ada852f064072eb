"""``GET /api/oncall`` (who is on call, per readable schedule); the overrides: ``POST``, ``GET`` (the list)
and ``DELETE /api/oncall/overrides/{id}`` (a cancel, role-gated and audited as the chat one); shift swaps:
``POST`` and ``GET /api/oncall/offers``, ``POST /api/oncall/offers/{id}/take``, ``DELETE
/api/oncall/offers/{id}`` (storage/offers.py has the rules)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.endpoints import _body
from bot.api.params import body_span, body_text, body_time, text_filter, whole_id
from bot.container import Container
from bot.webhooks.http import HttpError
from storage import directory, offers, overrides, schedules
from storage.actors import Actor, Source
from storage.errors import NotFound
from storage.models import Person


async def list_oncall(request: Request, container: Container, actor: Actor) -> Response:
    """Per schedule the token may read: who is on call now, the next handoff and the next 7 days."""
    reader = await container.queries.readable(actor)
    now = container.clock.now()
    async with container.db.sessions() as session:
        found = await schedules.readable(session, reader, text_filter(request, "team"))
        covering = await overrides.active(session, now, [s.name for s in found])
    return JSONResponse({"schedules": [schedules.document(schedules.summary(s, now, covering.get(s.name)))
                                       for s in found]})


ZONE_SAID = "the schedule's zone"  # what a time without an offset is in


async def _person(session, body: dict[str, Any], key: str, required: bool) -> Person | None:
    email = body_text(body, key, required)
    if email is None:
        return None
    person = await directory.find_person(session, Actor(Source.API, email))
    if person is None:
        raise NotFound(f"{key}: {email!r} is not an active Tocsin person's email")
    return person


async def create_override(request: Request, container: Container, actor: Actor) -> Response:
    """Put someone on call for a schedule from start (default now) to end, or for a duration (201)."""
    body, now = await _body(request, container), container.clock.now()
    async with container.db.transaction() as session:
        schedule = await overrides.schedule_named(session, body_text(body, "schedule", required=True) or "")
        start, end = body_span(body, now, schedule.zone, ZONE_SAID)
        who = await _person(session, body, "person", required=True)
        for_whom = await _person(session, body, "for", required=False)
        made = await overrides.create(session, actor, schedule.name, who, for_whom, start, end, now)
    return JSONResponse({"override": {"id": made.id, "schedule": made.schedule.name, "person": made.who,
                                      "for": made.for_whom, "start": made.start.isoformat(),
                                      "end": made.end.isoformat()}}, status_code=201)


def override_json(o: overrides.Listed) -> dict[str, Any]:
    return {"id": o.id, "schedule": o.schedule.name, "person": o.who, "for": o.for_whom,
            "start": o.start.isoformat(), "end": o.end.isoformat(), "created_by": o.created_by}


async def list_overrides(request: Request, container: Container, actor: Actor) -> Response:
    """The overrides running or to come, of the schedules the token may read (or of ``?schedule=``)."""
    reader = await container.queries.readable(actor)
    async with container.db.sessions() as session:
        found = await overrides.listing(session, reader, container.clock.now(), text_filter(request, "schedule"))
    return JSONResponse({"overrides": [override_json(o) for o in found]})


async def cancel_override(request: Request, container: Container, actor: Actor) -> Response:
    """Cancel an override: the person covering may, others need team lead or above (the chat cancel's rules)."""
    override_id = whole_id(request, "id", "on-call override")
    now = container.clock.now()
    async with container.db.transaction() as session:
        row = await overrides.cancel(session, actor, override_id, now)
    return JSONResponse({"override": {"id": row.id, "schedule": row.schedule, "start": row.start_at.isoformat(),
                                      "end": row.end_at.isoformat(), "cancelled_at": now.isoformat()}})


def offer_json(o: offers.Offer) -> dict[str, Any]:
    return {"id": o.id, "schedule": o.schedule.name, "person": o.who, "start": o.start.isoformat(),
            "end": o.end.isoformat(), "created_by": o.created_by}


async def _person_or_token(session, body: dict[str, Any], actor: Actor) -> Person:
    """The body's ``person``, else the token's own person; a role token must name one."""
    named = await _person(session, body, "person", required=False)
    if named is not None:
        return named
    own = await directory.find_person(session, actor)
    if own is None:
        raise HttpError(400, "invalid_input", "person: required for a token without a person (give an email)")
    return own


async def list_offers(request: Request, container: Container, actor: Actor) -> Response:
    """The open shift offers of the schedules the token may read (or of ``?schedule=``)."""
    reader = await container.queries.readable(actor)
    async with container.db.sessions() as session:
        found = await offers.listing(session, reader, container.clock.now(), text_filter(request, "schedule"))
    return JSONResponse({"offers": [offer_json(o) for o in found]})


async def create_offer(request: Request, container: Container, actor: Actor) -> Response:
    """Offer a shift: ``person``'s (default the token's) from start to end, or their shift running or next."""
    body, now = await _body(request, container), container.clock.now()
    async with container.db.transaction() as session:
        schedule = await overrides.schedule_named(session, body_text(body, "schedule", required=True) or "")
        start, end = body_time(body, "start", schedule.zone, ZONE_SAID), body_time(body, "end", schedule.zone, ZONE_SAID)
        if (start is None) != (end is None):
            raise HttpError(400, "invalid_input", "start and end: give both, or neither for the person's next shift")
        whose = await _person_or_token(session, body, actor)
        made = await offers.offer(session, actor, schedule.name, whose, start, end, now)
    return JSONResponse({"offer": offer_json(made)}, status_code=201)


async def take_offer(request: Request, container: Container, actor: Actor) -> Response:
    """``person`` (default the token's) takes the offer: an override puts them on call instead (201)."""
    offer_id = whole_id(request, "id", "shift offer")
    body, now = await _body(request, container), container.clock.now()
    async with container.db.transaction() as session:
        taker = await _person(session, body, "person", required=False)
        taken = await offers.take(session, actor, offer_id, taker, now)
    made = taken.override
    return JSONResponse({"offer": offer_json(taken.offer),
                         "override": {"id": made.id, "schedule": made.schedule.name, "person": made.who,
                                      "for": made.for_whom, "start": made.start.isoformat(),
                                      "end": made.end.isoformat()}}, status_code=201)


async def cancel_offer(request: Request, container: Container, actor: Actor) -> Response:
    """Withdraw an offer nobody took (its person may; others need team lead or above)."""
    offer_id = whole_id(request, "id", "shift offer")
    now = container.clock.now()
    async with container.db.transaction() as session:
        row = await offers.cancel(session, actor, offer_id, now)
    return JSONResponse({"offer": {"id": row.id, "schedule": row.schedule, "start": row.start_at.isoformat(),
                                   "end": row.end_at.isoformat(), "cancelled_at": now.isoformat()}})
