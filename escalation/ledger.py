"""The escalation ledger: one row per (incident, repeat, step), PENDING until it is executed or
cancelled. Rows are never deleted (a trigger refuses it); every change happens under the incident's row
lock, inside the transaction of the change that caused it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from escalation.policy import Policy, PolicyError, cycle, from_row, select_policy
from storage import pgdriver
from storage.models import EscalationPolicy, EscalationStep, Incident, Team

log = logging.getLogger(__name__)

PENDING, EXECUTED, CANCELLED, SKIPPED, FAILED = "PENDING", "EXECUTED", "CANCELLED", "SKIPPED", "FAILED"
STEPS = EscalationStep.__table__


async def load_policies(session: AsyncSession) -> list[Policy]:
    """The policies ``tocsin config apply`` stored, in file order."""
    if pgdriver.is_postgres(session):
        rows = await (await pgdriver.driver(session)).fetch(_POLICIES_PG, ())
    else:
        p = EscalationPolicy
        rows = list(await session.execute(select(p.name, p.match, p.steps, p.repeat, p.description)
                                          .order_by(p.position, p.id)))
    return _policies(rows)


def _policies(rows: Sequence[Sequence[Any]]) -> list[Policy]:
    policies = []
    for name, match, steps, repeat, description in rows:
        try:
            policies.append(_parsed(name, match, steps, repeat, description))
        except PolicyError as exc:  # never let a bad row stop incidents from being declared
            log.error("escalation policy %r in the database is invalid and ignored: %s", name, exc)
    return policies


_POLICIES_PG = "SELECT name, match, steps, repeat, description FROM escalation_policy ORDER BY position, id"
_PARSED: dict[str, Policy] = {}  # a row's content -> its policy: parsing is the costly part of reading them


def _parsed(name: str, match: dict[str, Any], steps: dict[str, Any], repeat: int, description: str | None) -> Policy:
    key = json.dumps([name, match, steps, repeat, description], sort_keys=True, default=str)
    policy = _PARSED.get(key)
    if policy is None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        policy = _PARSED[key] = from_row(name, match, steps, repeat, description)
    return policy


async def policy_named(session: AsyncSession, name: str | None, default: Policy) -> Policy:
    """The stored policy ``name``; ``default`` when none is stored by that name."""
    row = await session.scalar(select(EscalationPolicy).where(EscalationPolicy.name == name)) if name else None
    return from_row(row.name, row.match, row.steps, row.repeat, row.description) if row else default


async def schedule(session: AsyncSession, incident: Incident, now: datetime, default: Policy) -> int:
    """Write the whole ledger of a newly declared incident: every step of every repeat (``default``: the
    policy when no stored one applies)."""
    return await schedule_all(session, [incident], now, default)


async def schedule_all(session: AsyncSession, incidents: Sequence[Incident], now: datetime, default: Policy) -> int:
    """``schedule`` for several incidents at once (a batch of alerts can open many): the teams and the
    policies are read once, and the steps and the chosen policies written in one statement each."""
    pg = pgdriver.is_postgres(session)
    team_ids = list({i.team_id for i in incidents if i.team_id is not None})
    found: Sequence[Any] = ()
    if pg:  # both questions in one round trip
        found, stored = await (await pgdriver.driver(session)).fetch_each(
            [(_TEAMS_PG, [team_ids], None), (_POLICIES_PG, (), None)])
        policies = _policies(stored)
    else:
        if team_ids:
            found = list(await session.execute(
                select(Team.id, Team.name, Team.escalation_policy).where(Team.id.in_(team_ids))))
        policies = await load_policies(session)
    teams = {id_: (name, policy) for id_, name, policy in found}
    rows, chosen = [], []
    for incident in incidents:
        team_name, team_policy = teams.get(incident.team_id, (None, None)) if incident.team_id else (None, None)
        policy = select_policy(policies, incident.severity, incident.service, team_name, incident.labels or {},
                               team_policy, default)
        chosen.append((incident, policy.name))
        start = incident.created_at
        if incident.dedup_key is not None:  # alert-born: page_after holds it back (gates: still firing?)
            start += policy.page_after
        for repeat in range(policy.repeat + 1):
            for index, step in enumerate(policy.steps):
                due = start + cycle(policy) * repeat + step.after
                rows.append({"incident_id": incident.id, "policy": policy.name, "repeat": repeat, "step": index,
                             "scheduled_at": due, "due_at": due, "status": PENDING, "created_at": now})
    if pg:
        conn = await pgdriver.driver(session)
        if rows:
            await pgdriver.insert_rows(conn, "escalation_step", _STEP_ROW, rows)
        await pgdriver.update_rows(conn, "incident", {"escalation_policy": "varchar"},
                                   [{"id": i.id, "escalation_policy": name} for i, name in chosen])
    else:
        if rows:
            await session.execute(insert(STEPS), rows)
        for name in {name for _, name in chosen}:
            await session.execute(update(Incident).where(Incident.id.in_([i.id for i, n in chosen if n == name]))
                                  .values(escalation_policy=name).execution_options(synchronize_session=False))
    for incident, name in chosen:
        set_committed_value(incident, "escalation_policy", name)
    return len(rows)


_TEAMS_PG = "SELECT id, name, escalation_policy FROM team WHERE id = ANY(%s::integer[])"
_STEP_ROW = {"incident_id": "integer", "policy": "varchar", "repeat": "integer", "step": "integer",
             "scheduled_at": "timestamptz", "due_at": "timestamptz", "status": "varchar", "created_at": "timestamptz"}
_CANCEL_PENDING_PG = ("UPDATE escalation_step SET status = 'CANCELLED', note = %s "
                      "WHERE incident_id = ANY(%s::integer[]) AND status = 'PENDING'")


async def cancel_pending(session: AsyncSession, incident_ids: Sequence[int], why: str) -> None:
    """Mark every PENDING step of the incidents CANCELLED (acknowledge, resolve, cancel)."""
    await pgdriver.write(
        session, _CANCEL_PENDING_PG, [why, list(incident_ids)],
        update(EscalationStep).where(EscalationStep.incident_id.in_(incident_ids), EscalationStep.status == PENDING)
        .values(status=CANCELLED, note=why))


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


async def note_pending(session: AsyncSession, incident_id: int, note: str, status: str = PENDING,
                       at: datetime | None = None, by: str | None = None) -> None:
    """Write ``note`` on every PENDING step of the incident (a gate's hold), or close them all as ``status``."""
    values: dict[str, Any] = {"note": note, "status": status}
    if status != PENDING:
        values |= {"executed_at": at, "executed_by": by}
    await session.execute(update(EscalationStep).where(EscalationStep.incident_id == incident_id,
                                                       EscalationStep.status == PENDING)
                          .values(**values).execution_options(synchronize_session="fetch"))


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
