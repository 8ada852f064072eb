"""The escalation ledger: one row per (incident, repeat, step), PENDING until it is executed or
cancelled. Rows are never deleted (a trigger refuses it); every change happens under the incident's row
lock, inside the transaction of the change that caused it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.policy import DEFAULT_POLICY, Policy, PolicyError, cycle, from_row, select_policy
from storage.models import EscalationPolicy, EscalationStep, Incident

log = logging.getLogger(__name__)

PENDING, EXECUTED, CANCELLED, SKIPPED, FAILED = "PENDING", "EXECUTED", "CANCELLED", "SKIPPED", "FAILED"


async def load_policies(session: AsyncSession) -> list[Policy]:
    """The policies ``tocsin config apply`` stored, in file order."""
    rows = await session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.position, EscalationPolicy.id))
    policies = []
    for r in rows:
        try:
            policies.append(from_row(r.name, r.match, r.steps, r.repeat, r.description))
        except PolicyError as exc:  # never let a bad row stop incidents from being declared
            log.error("escalation policy %r in the database is invalid and ignored: %s", r.name, exc)
    return policies


async def policy_named(session: AsyncSession, name: str | None) -> Policy:
    row = await session.scalar(select(EscalationPolicy).where(EscalationPolicy.name == name)) if name else None
    return from_row(row.name, row.match, row.steps, row.repeat, row.description) if row else DEFAULT_POLICY


async def policy_for(session: AsyncSession, incident: Incident) -> Policy:
    """The policy that applies to ``incident``: its team's, else the first that matches, else the default."""
    team = incident.team
    return select_policy(await load_policies(session), incident.severity, incident.service,
                         team.name if team else None, incident.labels or {},
                         team.escalation_policy if team else None)


async def schedule(session: AsyncSession, incident: Incident, now: datetime) -> list[EscalationStep]:
    """Write the whole ledger of a newly declared incident: every step of every repeat."""
    policy = await policy_for(session, incident)
    incident.escalation_policy = policy.name
    start, rows = incident.created_at, []
    for repeat in range(policy.repeat + 1):
        for index, step in enumerate(policy.steps):
            due = start + cycle(policy) * repeat + step.after
            rows.append(EscalationStep(incident_id=incident.id, policy=policy.name, repeat=repeat, step=index,
                                       scheduled_at=due, due_at=due, status=PENDING, created_at=now))
    session.add_all(rows)
    await session.flush()
    return rows


async def cancel_pending(session: AsyncSession, incident_id: int, why: str) -> int:
    """Mark every PENDING step of the incident CANCELLED (acknowledge, resolve, cancel)."""
    result = await session.execute(
        update(EscalationStep)
        .where(EscalationStep.incident_id == incident_id, EscalationStep.status == PENDING)
        .values(status=CANCELLED, note=why)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def hold_until(session: AsyncSession, incident_id: int, until: datetime) -> None:
    """Snooze: shift the pending steps so the next comes due at ``until``, the rest keeping their spacing."""
    first = await session.scalar(select(func.min(EscalationStep.due_at)).where(
        EscalationStep.incident_id == incident_id, EscalationStep.status == PENDING))
    if first is None or first >= until:
        return
    shift = until - first
    rows = await session.scalars(select(EscalationStep).where(
        EscalationStep.incident_id == incident_id, EscalationStep.status == PENDING))
    for row in rows:
        row.due_at = row.due_at + shift
    await session.flush()


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest PENDING step anywhere comes due."""
    return await session.scalar(select(func.min(EscalationStep.due_at)).where(EscalationStep.status == PENDING))


async def next_pending(session: AsyncSession, incident_id: int) -> EscalationStep | None:
    return await session.scalar(
        select(EscalationStep)
        .where(EscalationStep.incident_id == incident_id, EscalationStep.status == PENDING)
        .order_by(EscalationStep.repeat, EscalationStep.step)
        .limit(1)
    )


async def steps_of(session: AsyncSession, incident_id: int) -> list[EscalationStep]:
    rows = await session.scalars(select(EscalationStep).where(EscalationStep.incident_id == incident_id)
                                 .order_by(EscalationStep.repeat, EscalationStep.step))
    return list(rows)
