"""Read-only questions about the ledger and the outbox, as plain JSON-ready dicts (for the REST API:
``GET /api/notifications`` and ``GET /api/incidents/{number}/escalations``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from escalation.ledger import policy_named
from escalation.policy import Policy, PolicyError
from storage.db import Database
from storage.errors import InvalidInput, NotFound
from storage.models import EscalationStep, Incident, Notification
from storage.queries import of_teams

MAX_PAGE = 200


def _at(value) -> str | None:
    return value.isoformat() if value else None


def notification_json(n: Notification, number: int) -> dict[str, Any]:
    return {"id": n.id, "incident": number, "kind": n.kind, "reason": n.reason, "target": n.target,
            "person_id": n.person_id, "channel": n.channel, "address": n.address, "status": n.status,
            "attempts": n.attempts, "next_attempt_at": _at(n.next_attempt_at), "sent_at": _at(n.sent_at),
            "last_error": n.last_error, "reference": n.reference, "thread": n.thread, "note": n.note,
            "created_at": _at(n.created_at)}


async def notifications(db: Database, *, incident: int | None = None, person_id: int | None = None,
                        channel: str | None = None, status: str | None = None, limit: int = 50,
                        offset: int = 0, teams: frozenset[int | None] | None = None) -> list[dict[str, Any]]:
    """Notifications, newest first, filtered by incident number, person, channel and status (and to the
    incidents of ``teams``, a reader's, when given)."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0")
    query = (select(Notification, Incident.number).join(Incident, Incident.id == Notification.incident_id)
             .order_by(Notification.id.desc()).limit(limit).offset(offset))
    if incident is not None:
        query = query.where(Incident.number == incident)
    if teams is not None:
        query = query.where(of_teams(teams))
    if person_id is not None:
        query = query.where(Notification.person_id == person_id)
    if channel:
        query = query.where(Notification.channel == channel)
    if status:
        query = query.where(Notification.status == status.upper())
    async with db.sessions() as session:
        return [notification_json(n, number) for n, number in (await session.execute(query)).all()]


async def escalations(db: Database, number: int, default: Policy) -> dict[str, Any]:
    """The ledger of one incident: every step of every repeat, with its status and timing, whom the policy
    names for it (as the policy stands now) and the notifications it wrote."""
    async with db.sessions() as session:
        incident = await session.scalar(select(Incident).where(Incident.number == number))
        if incident is None:
            raise NotFound(f"there is no incident #{number}")
        rows = list(await session.scalars(select(EscalationStep).where(EscalationStep.incident_id == incident.id)
                                          .order_by(EscalationStep.repeat, EscalationStep.step)))
        written: dict[int, list[dict[str, Any]]] = {}
        if rows:
            for n in await session.scalars(select(Notification).where(
                    Notification.step_id.in_([r.id for r in rows])).order_by(Notification.id)):
                written.setdefault(n.step_id, []).append(notification_json(n, number))
        policies: dict[str, Policy | None] = {}
        for name in {r.policy for r in rows}:
            try:
                policies[name] = await policy_named(session, name, default)
            except PolicyError:
                policies[name] = None
        steps = []
        for r in rows:
            policy = policies[r.policy]
            planned = policy.steps[r.step] if policy and r.step < len(policy.steps) else None
            steps.append({"repeat": r.repeat, "step": r.step, "level": r.step + 1, "status": r.status,
                          "scheduled_at": _at(r.scheduled_at), "due_at": _at(r.due_at),
                          "executed_at": _at(r.executed_at), "late_by_seconds": r.late_by_seconds,
                          "executed_by": r.executed_by, "note": r.note,
                          "targets": [str(t) for t in planned.targets] if planned else [],
                          "channels": list(planned.channels) if planned else [],
                          "notifications": written.get(r.id, [])})
    return {"incident": number, "policy": incident.escalation_policy, "level": incident.escalation_level,
            "steps": steps}
