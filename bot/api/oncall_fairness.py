"""``GET /api/oncall/fairness?from=&to=&team=``: the fairness report of the schedules the token may read."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.params import text_filter, time_filter
from bot.container import Container
from bot.webhooks.http import HttpError
from storage import fairness
from storage.actors import Actor

DEFAULT_WINDOW = timedelta(days=7)


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """[from, to): to defaults to now, from to 7 days before to; at most 366 days."""
    end = end or now
    start = start or end - DEFAULT_WINDOW
    for key, t in (("from", start), ("to", end)):
        if not 1970 <= t.year <= 9000:
            raise HttpError(400, "invalid_input", f"{key}: must be a time between the years 1970 and 9000")
    if end <= start:
        raise HttpError(400, "invalid_input", "to: must be after from")
    if end - start > fairness.MAX_WINDOW:
        raise HttpError(400, "invalid_input", "to: at most 366 days after from")
    return start, end


async def oncall_fairness(request: Request, container: Container, actor: Actor) -> Response:
    """Per person: hours on call, of them outside working hours, pages, pages at night."""
    start, end = window(time_filter(request, "from"), time_filter(request, "to"), container.clock.now())
    team = text_filter(request, "team")
    reader = await container.queries.readable(actor)
    async with container.db.sessions() as session:
        rows = await fairness.report(session, reader, start, end, team)
    return JSONResponse(fairness.document(rows, start, end, team))
