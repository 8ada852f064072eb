"""The escalation ledger: one row per (incident, repeat, step), PENDING until it is executed or
cancelled. Rows are never deleted (a trigger refuses it); every change happens under the incident's row
lock, inside the transaction of the change that caused it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from escalation.policy import DEFAULT_POLICY, Policy, PolicyError, cycle, from_row, select_policy
from storage.models import EscalationPolicy, EscalationStep, Incident, Team

log = logging.getLogger(__name__)

PENDING, EXECUTED, CANCELLED, SKIPPED, FAILED = "PENDING", "EXECUTED", "CANCELLED", "SKIPPED", "FAILED"
STEPS = EscalationStep.__table__


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


async def schedule(session: AsyncSession, incident: Incident, now: datetime) -> int:
    """Write the whole ledger of a newly declared incident: every step of every repeat."""
    return await schedule_all(session, [incident], now)


async def schedule_all(session: AsyncSession, incidents: Sequence[Incident], now: datetime) -> int:
    """``schedule`` for several incidents at once (a batch of alerts can open many): the teams and the
    policies are read once, and the steps and the chosen policies written in one statement each."""
    team_ids = {i.team_id for i in incidents if i.team_id is not None}
    teams = {t.id: t for t in await session.scalars(select(Team).where(Team.id.in_(team_ids)))} if team_ids else {}
    policies = await load_policies(session)
    rows, chosen = [], defaultdict(list)
    for incident in incidents:
        team = teams.get(incident.team_id) if incident.team_id is not None else None
        set_committed_value(incident, "team", team)  # what refreshing the relation would load, read once
        policy = select_policy(policies, incident.severity, incident.service, team.name if team else None,
                               incident.labels or {}, team.escalation_policy if team else None)
        chosen[policy.name].append(incident)
        start = incident.created_at
        for repeat in range(policy.repeat + 1):
            for index, step in enumerate(policy.steps):
                due = start + cycle(policy) * repeat + step.after
                rows.append({"incident_id": incident.id, "policy": policy.name, "repeat": repeat, "step": index,
                             "scheduled_at": due, "due_at": due, "status": PENDING, "created_at": now})
    if rows:
        await session.execute(insert(STEPS), rows)
    for name, chosen_by in chosen.items():
        await session.execute(update(Incident).where(Incident.id.in_([i.id for i in chosen_by]))
                              .values(escalation_policy=name).execution_options(synchronize_session=False))
        for incident in chosen_by:
            set_committed_value(incident, "escalation_policy", name)
    return len(rows)


async def cancel_pending(session: AsyncSession, incident_ids: Sequence[int], why: str) -> int:
    """Mark every PENDING step of the incidents CANCELLED (acknowledge, resolve, cancel)."""
    result = await session.execute(
        update(EscalationStep)
        .where(EscalationStep.incident_id.in_(incident_ids), EscalationStep.status == PENDING)
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
