"""The notification outbox: rows written in the transaction that decided to notify, sent later by the
dispatcher. The unique (incident, reason, target, channel) makes every notification exist once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.plan import Planned
from storage import pgdriver
from storage.models import Notification

PENDING, SENT, FAILED, CANCELLED = "PENDING", "SENT", "FAILED", "CANCELLED"


async def write(session: AsyncSession, incident_id: int, reason: str, planned: Iterable[Planned], message: str,
                now: datetime, *, kind: str = "page", step_id: int | None = None) -> list[Notification]:
    """Queue one notification per planned (target, channel); the unique key refuses a second copy."""
    rows = [
        Notification(incident_id=incident_id, step_id=step_id, kind=kind, reason=reason, target=p.target,
                     person_id=p.person_id, channel=p.channel, address=p.address, topic=p.topic, message=message,
                     status=PENDING, attempts=0, next_attempt_at=now, note=p.note, created_at=now)
        for p in planned
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def write_oncall(session: AsyncSession, reason: str, planned: Planned, message: str,
                       now: datetime) -> Notification:
    """Queue a handoff notice or shift reminder (kind ``oncall``, no incident: escalation/handoffs.py)."""
    row = Notification(incident_id=None, kind="oncall", reason=reason[:64], target=planned.target,
                       person_id=planned.person_id, channel=planned.channel, address=planned.address,
                       topic=planned.topic, message=message, status=PENDING, attempts=0, next_attempt_at=now,
                       note=planned.note, created_at=now)
    session.add(row)
    await session.flush()
    return row


_CANCEL_UNSENT_PG = ("UPDATE notification SET status = 'CANCELLED', note = %s WHERE incident_id = ANY(%s::integer[]) "
                     "AND kind = 'page' AND status = 'PENDING' AND claimed_at IS NULL")
_ANY_PAGED_PG = ("SELECT EXISTS (SELECT 1 FROM notification WHERE incident_id = ANY(%s::integer[]) AND kind = 'page' "
                 "AND (status = 'SENT' OR (status = 'PENDING' AND claimed_at IS NOT NULL)))")


async def cancel_unsent_pages(session: AsyncSession, incident_ids: Sequence[int], why: str) -> None:
    """Pages not yet handed to a sender will never go out: the incidents no longer need them."""
    await pgdriver.write(
        session, _CANCEL_UNSENT_PG, [why, list(incident_ids)],
        update(Notification).where(Notification.incident_id.in_(incident_ids), Notification.kind == "page",
                                   Notification.status == PENDING, Notification.claimed_at.is_(None))
        .values(status=CANCELLED, note=why))


async def write_closing_notices(session: AsyncSession, messages: Mapping[int, str], kind: str,
                                now: datetime) -> list[Notification]:
    """A one-line notice (``messages[incident id]``) to every destination already paged (sent, or in a
    sender's hands) about each incident, in its thread."""
    if pgdriver.is_postgres(session):  # most incidents close before anyone was paged: ask that cheaply first
        (paged,), = await (await pgdriver.driver(session)).fetch(_ANY_PAGED_PG, [list(messages)], prepare=False)
        if not paged:
            return []
    pages = await session.scalars(
        select(Notification)
        .where(Notification.incident_id.in_(messages), Notification.kind == "page",
               (Notification.status == SENT) | ((Notification.status == PENDING) & Notification.claimed_at.isnot(None)))
        .order_by(Notification.id)
    )
    latest: dict[tuple[int, str, str], Notification] = {}
    for page in pages:
        latest[(page.incident_id, page.target, page.channel)] = page
    if not latest:
        return []
    reason = f"closing:{kind}"
    already = set((await session.execute(
        select(Notification.incident_id, Notification.target, Notification.channel)
        .where(Notification.incident_id.in_(messages), Notification.reason == reason))).all())
    rows = [
        Notification(incident_id=p.incident_id, parent_id=p.id, kind="notice", reason=reason, target=p.target,
                     person_id=p.person_id, channel=p.channel, address=p.address, topic=p.topic,
                     message=messages[p.incident_id], status=PENDING, attempts=0, next_attempt_at=now,
                     created_at=now)
        for key, p in latest.items() if key not in already
    ]
    session.add_all(rows)
    await session.flush()
    return rows
