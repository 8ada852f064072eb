"""The step job and the transaction hook.

A due step is claimed, the incident row is locked and its state re-checked, the step's notifications
are written to the outbox, the incident moves to escalating and the step is marked EXECUTED, all in
one transaction. Acknowledge, resolve and cancel cancel the pending steps in their own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy import text as sql
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from escalation import gates, ledger, outbox, texts, wakeup
from escalation.ledger import CANCELLED, EXECUTED, FAILED, PENDING, SKIPPED
from escalation.metrics import LATENESS
from escalation.plan import Planned, plan_step, team_channel_address
from escalation.policy import Policy, channels, default_policy
from storage.actors import Actor, Source
from storage.directory import Principal
from storage.errors import DatabaseUnavailable
from storage.incidents import IncidentService, Unit
from storage.models import EscalationStep, Incident, IncidentEvent
from storage.ports import Sender
from storage.states import Status

log = logging.getLogger(__name__)

OVERDUE_AFTER = 60.0  # seconds late before the team channel is warned
CLOSING = ("acknowledged", "resolved", "cancelled")
# Lost connection, deadlock, SQLite busy, no answer within TOCSIN_DATABASE_TIMEOUT: retry on the next wake.
TRANSIENT = (OperationalError, InterfaceError, DatabaseUnavailable)
# Policies read once per run_due pass. A context variable, not an attribute: the pass's claimers share it,
# while a hand escalation (another request's task, on the same engine) never sees a pass's cache come and go.
_PASS_POLICIES: ContextVar[dict[str, Policy] | None] = ContextVar("pass_policies", default=None)


class Escalation:
    """Runs due escalation steps exactly once, and keeps the ledger in step with every incident change."""

    def __init__(self, incidents: IncidentService, senders: Mapping[str, Sender], chats: Sequence[str],
                 name: str | None = None, workers: int = 4) -> None:
        self.incidents, self.db, self.clock = incidents, incidents.db, incidents.clock
        self.workers = workers
        self.senders = senders
        self.chats = tuple(chats)  # the chat platforms the bot knows: the team chats, the default policy's steps
        self.channels = channels(self.chats)
        self.default_policy = default_policy(self.chats)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.principal = Principal(Actor.system(Source.SCHEDULER, "scheduler"), None)

    # -- the transaction hook -----------------------------------------------------------------

    async def on_changes(self, session: AsyncSession, changes: Sequence[tuple[Incident, IncidentEvent]]) -> None:
        """Schedule, cancel, hold or run steps in the transaction of the incident changes.

        A batch of alerts can declare or resolve many incidents at once: those are handled together."""
        declared = [incident for incident, event in changes if event.kind == "declared"]
        closing: dict[str, list[tuple[Incident, IncidentEvent]]] = {}
        for incident, event in changes:
            if event.kind in CLOSING:
                closing.setdefault(event.kind, []).append((incident, event))
        woken = bool(declared or closing)
        if woken:  # delivered at commit whenever it is sent: first, so that it goes with the next question
            await wakeup.notify(session)
        if declared:
            await ledger.schedule_all(session, declared, changes[0][1].at, self.default_policy)
        for incident, event in changes:
            if event.kind not in CLOSING and event.kind != "declared":
                if await self._on_change(session, incident, event) and not woken:
                    woken = True
                    await wakeup.notify(session)
        for kind, closed in closing.items():
            await self._close(session, kind, closed)

    async def _close(self, session: AsyncSession, kind: str, closed: list[tuple[Incident, IncidentEvent]]) -> None:
        """Acknowledged, resolved or cancelled: no more steps or unsent pages; tell whoever was paged."""
        ids = [incident.id for incident, _ in closed]
        await ledger.cancel_pending(session, ids, f"incident {kind}")
        await outbox.cancel_unsent_pages(session, ids, f"incident {kind} before it was sent")
        messages = {incident.id: texts.closing(incident, kind, event.actor_name) for incident, event in closed}
        await outbox.write_closing_notices(session, messages, kind, closed[0][1].at)

    async def _on_change(self, session: AsyncSession, incident: Incident, event: IncidentEvent) -> bool:
        """A snooze or a hand escalation; whether it gave the timer or the dispatcher work."""
        if event.kind == "snoozed" and incident.snoozed_until is not None:
            await ledger.hold_until(session, incident.id, incident.snoozed_until)
        elif event.kind == "escalated" and event.actor_source != Source.SCHEDULER.value:
            step = await ledger.next_pending(session, incident.id)
            if step is not None:
                await self.page(session, incident, step, event.at, by=event.actor_name or "hand")
        else:
            return False
        return True

    async def adopt(self, limit: int = 200) -> int:
        """Write the ledger of open incidents that have none (declared by a process without the hook,
        such as the webhook sidecar, or before escalation existed); their steps count from creation."""
        async with self.incidents.unit() as unit:
            query = (select(Incident)
                     .where(Incident.status.in_([Status.OPEN.value, Status.ESCALATING.value]),
                            ~exists().where(EscalationStep.incident_id == Incident.id))
                     .order_by(Incident.id).limit(limit))
            if self.db.is_postgres:
                query = query.with_for_update(of=Incident, skip_locked=True)
            incidents = list((await unit.session.scalars(query)).unique())
            for incident in incidents:
                await ledger.schedule(unit.session, incident, unit.now, self.default_policy)
        return len(incidents)

    # -- the step job -------------------------------------------------------------------------

    async def run_due(self, limit: int | None = None, workers: int | None = None) -> int:
        """Run every step that is due now; returns how many this process ran (or failed).

        On PostgreSQL several claimers work side by side (SKIP LOCKED keeps them apart); SQLite has one
        writer, so one claimer.
        """
        workers = workers or (self.workers if self.db.is_postgres else 1)
        if workers > 1 and limit is None:
            token = _PASS_POLICIES.set({})
            try:
                return sum(await asyncio.gather(*(self._claim_all() for _ in range(workers))))
            finally:
                _PASS_POLICIES.reset(token)
        return await self._claim_all(limit)

    async def _claim_all(self, limit: int | None = None) -> int:
        done = 0
        while limit is None or done < limit:
            try:
                ran = await self.claim_one()
            except TRANSIENT:
                log.exception("claiming an escalation step failed; retrying on the next wake")
                break
            if ran is None:
                break
            done += ran
        return done

    async def claim_one(self) -> int | None:
        """Claim the earliest due step and run it: 1 when it ran (or failed), 0 when another claimer had
        just run it (our pick read the step before that claimer committed), None when nothing is due (or
        all due are locked)."""
        now, step_id = self.clock.now(), None
        try:
            async with self.incidents.unit() as unit:
                picked = await self._pick(unit.session, now)
                if picked is None:
                    return None
                step_id, incident_id = picked
                incident = await unit.session.scalar(
                    select(Incident).where(Incident.id == incident_id).with_for_update(of=Incident)
                    .execution_options(populate_existing=True))
                step = await unit.session.scalar(select(EscalationStep).where(EscalationStep.id == step_id)
                                                 .execution_options(populate_existing=True))
                if step.status != PENDING or step.due_at > now:  # re-checked under the incident lock
                    return 0
                await self.execute(unit, incident, step, now)
            return 1
        except TRANSIENT:
            raise
        except Exception as exc:  # a bug or bad data: record it on the step rather than retry forever
            log.exception("escalation step %s failed", step_id)
            await self._fail(step_id, exc)
            return 1

    async def _pick(self, session: AsyncSession, now: datetime) -> tuple[int, int] | None:
        query = (select(EscalationStep.id, EscalationStep.incident_id)
                 .where(EscalationStep.status == PENDING, EscalationStep.due_at <= now)
                 .order_by(EscalationStep.due_at, EscalationStep.id).limit(1))
        if self.db.is_postgres:
            # Lock the incident, not the step: every writer of ledger rows holds the incident lock first.
            query = query.join(Incident, Incident.id == EscalationStep.incident_id) \
                .with_for_update(of=Incident, skip_locked=True)
        else:
            # SQLite: take the write lock first, so that nothing changes between our read and our write.
            await session.execute(sql("UPDATE escalation_step SET id = id WHERE id = -1"))
        row = (await session.execute(query)).first()
        return (row[0], row[1]) if row else None

    async def _fail(self, step_id: int | None, exc: Exception) -> None:
        if step_id is None:
            return
        async with self.db.transaction() as session:
            step = await session.get(EscalationStep, step_id)
            if step is not None and step.status == PENDING:
                step.status, step.note = FAILED, f"{type(exc).__name__}: {exc}"[:2000]

    async def execute(self, unit: Unit, incident: Incident, step: EscalationStep, now: datetime) -> None:
        """Run a due step under the incident lock: re-check, page, move to escalating."""
        status = Status(incident.status)
        if status in (Status.ACKNOWLEDGED, Status.RESOLVED, Status.CANCELLED):
            step.status, step.note = CANCELLED, f"the incident was {status.value} when the step came due"
            return
        if incident.snoozed_until is not None and incident.snoozed_until > now:
            await ledger.hold_until(unit.session, incident.id, incident.snoozed_until)
            return
        if incident.dedup_key is not None and await self._held(unit, incident, step, now):
            return
        summary = await self.page(unit.session, incident, step, now)
        if summary:
            await self.incidents.transition(unit, incident, self.principal, Status.ESCALATING, summary)

    async def _held(self, unit: Unit, incident: Incident, step: EscalationStep, now: datetime) -> bool:
        """The gates of an alert-born incident's due step (escalation/gates.py): a maintenance window or
        ``page_when`` holds it; a step held by a window that is over is skipped if nothing fires any more."""
        session = unit.session
        hold = await gates.maintenance_hold(session, incident, now)
        if hold is None and await gates.cleared_after_maintenance(session, incident, step.note):
            await ledger.note_pending(session, incident.id, gates.CLEARED_NOTE, SKIPPED, now, self.name)
            return True
        if hold is None:
            hold = await gates.threshold_hold(session, incident, await self._policy(session, step.policy), now)
        if hold is None:
            return False
        await ledger.hold_until(session, incident.id, hold.until)
        await ledger.note_pending(session, incident.id, hold.note)
        if hold.event and not await self._told(session, incident, hold.window):
            await self.incidents.record(unit, incident, self.principal, gates.MAINTENANCE_EVENT, hold.event,
                                        {"window": hold.window, "until": hold.window_end.isoformat() if hold.window_end else None})
        return True

    async def _told(self, session: AsyncSession, incident: Incident, window: int | None) -> bool:
        """Whether the timeline already says the incident is held by ``window``."""
        rows = await session.scalars(select(IncidentEvent.data).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == gates.MAINTENANCE_EVENT))
        return any((data or {}).get("window") == window for data in rows)

    async def page(self, session: AsyncSession, incident: Incident, step: EscalationStep, now: datetime,
                   by: str | None = None) -> str | None:
        """Write the step's notifications and mark it EXECUTED (or SKIPPED); returns a timeline line."""
        if by:  # from the hook: the relationships may not be loaded (the step job's lock query loads them)
            await session.refresh(incident, ["team", "assignee"])
        policy = await self._policy(session, step.policy)
        if step.step >= len(policy.steps):
            step.status, step.note = SKIPPED, f"policy {policy.name} no longer has a step {step.step + 1}"
            return None
        if not by and await gates.stopped_firing(session, incident, policy):  # page_after: still firing?
            step.executed_at, step.executed_by = now, self.name
            step.status, step.note = SKIPPED, gates.STOPPED_NOTE
            return None
        planned, notes = await plan_step(session, incident, policy.steps[step.step], self.senders.keys(),
                                         self.channels, now)
        level = step.step + 1
        late = 0.0 if by else max(0.0, (now - step.due_at).total_seconds())
        if planned:
            message = texts.page(incident, level, now - incident.created_at)
            await outbox.write(session, incident.id, f"step:{step.repeat}:{step.step}", planned, message, now,
                               step_id=step.id)
        step.executed_at, step.executed_by = now, self.name if not by else f"{self.name} for {by}"
        step.late_by_seconds = None if by else late
        if not planned:
            step.status, step.note = SKIPPED, "nobody to page: " + "; ".join(notes)
            return None
        step.status, step.note = EXECUTED, "; ".join(notes) or None
        incident.escalation_level = level
        if not by:
            LATENESS.observe(late)
            if late > OVERDUE_AFTER:
                await self._warn_overdue(session, incident, step, level, now)
        return _summary(level, planned, late, by)

    async def _policy(self, session: AsyncSession, name: str) -> Policy:
        cache = _PASS_POLICIES.get()
        if cache is None:
            return await ledger.policy_named(session, name, self.default_policy)
        if name not in cache:
            cache[name] = await ledger.policy_named(session, name, self.default_policy)
        return cache[name]

    async def _warn_overdue(self, session: AsyncSession, incident: Incident, step: EscalationStep, level: int,
                            now: datetime) -> None:
        planned = []
        for channel in self.chats:
            address, topic = team_channel_address(incident.team, channel)
            if address and channel in self.senders:
                planned.append(Planned("team_channel", channel, address, topic=topic))
        await outbox.write(session, incident.id, f"overdue:{step.repeat}:{step.step}", planned,
                           texts.overdue(incident, level, now - step.due_at), now, kind="notice", step_id=step.id)


def _summary(level: int, planned: list[Planned], late: float, by: str | None) -> str:
    names = sorted({p.name or p.target for p in planned})
    channels = sorted({p.channel for p in planned})
    line = f"Level {level}: paged {', '.join(names)} via {', '.join(channels)}"
    if by:
        return line + f" (run now by {by})"
    return line + (f" ({texts.ago_seconds(late)} late)" if late >= 1 else "")
