"""``GET /calendar/<token>.ics``: the iCalendar feed of a schedule or a person's shifts, for Google Calendar and
Outlook to subscribe to. The token is the only credential (calendars cannot send headers): a wrong one is 404."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from bot.container import Container
from bot.webhooks.http import DATABASE_FAILURES, error_response, unavailable
from storage import ical, overrides, schedules
from storage.models import Person

log = logging.getLogger(__name__)
PATH = "/calendar/{token}.ics"


def feed_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/calendar/{token}.ics"


def _missing() -> Response:
    return error_response(404, "not_found", "no calendar feed at this address (tocsin oncall feed prints the URL)")


async def calendar(request: Request) -> Response:
    container: Container = request.state.tocsin
    token = request.path_params["token"]
    now = container.clock.now()
    try:
        async with container.db.sessions() as session:
            found = await ical.by_token(session, token)
            if found is None:
                return _missing()
            applied = await schedules.applied(session)
            covering = await overrides.active(session, ical.window(now)[0])
            if found.kind == ical.SCHEDULE:
                schedule = next((s for s in applied if s.name == found.subject), None)
                if schedule is None:  # the schedule left the config file
                    return _missing()
                body = ical.schedule_feed(schedule, now, covering)
            else:
                active = await session.scalar(select(Person.active).where(func.lower(Person.email) == found.subject.lower()))
                if not active:
                    return _missing()
                body = ical.person_feed(found.subject, applied, now, covering)
    except DATABASE_FAILURES as exc:
        log.warning("calendar feed failed on the database: %s", type(exc).__name__)
        return unavailable().response()
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})
