"""The incident service: the one place where every surface's action on an incident is decided.

Each operation resolves the actor to a person, checks the role, applies the state machine under a row
lock, writes the timeline, runs the transaction hooks, commits, and then tells every surface.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from storage import directory
from storage.actors import Actor
from storage.clock import Clock, SystemClock
from storage.db import Database
from storage.directory import Principal
from storage.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from storage.models import Alert, Incident, IncidentEvent
from storage.ports import ChangeBus, TransactionHook
from storage.roles import Permission, allows, least_role_for
from storage.states import Severity, Status, can_transition, refusal_reason
from storage.viewbuild import full_view
from storage.views import ActionResult, IncidentChange

MAX_SNOOZE = timedelta(hours=24)
EVENTS = IncidentEvent.__table__
RELATIONS = ["team", "created_by", "assignee", "acknowledged_by", "resolved_by"]


@dataclass
class Unit:
    """One transaction of the core, collecting the changes to publish once it commits."""

    session: AsyncSession
    now: datetime
    changes: list[IncidentChange] = field(default_factory=list)
    #: False when only the bus reads ``changes`` (alert ingestion): with no observer subscribed, the
    #: views, several queries each, are then not built at all.
    views: bool = True


@dataclass(frozen=True)
class NewEvent:
    """An event to append to an incident's timeline (see ``IncidentService.record_all``)."""

    incident: Incident
    principal: Principal
    kind: str
    text: str | None = None
    data: dict[str, Any] | None = None


def _fmt(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "an unknown time"


class IncidentService:
    """declare, acknowledge, resolve, cancel, escalate, assign, note, snooze, change severity."""

    def __init__(
        self,
        db: Database,
        bus: ChangeBus | None = None,
        clock: Clock | None = None,
        hooks: Sequence[TransactionHook] = (),
    ) -> None:
        self.db = db
        self.bus = bus or ChangeBus()
        self.clock = clock or SystemClock()
        self.hooks: list[TransactionHook] = list(hooks)

    # -- transactions -------------------------------------------------------------------------

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """A transaction of the core; its changes are published after it commits."""
        async with self.db.transaction() as session:
            unit = Unit(session, self.clock.now())
            yield unit
        for change in unit.changes:
            self.bus.publish(change)

    async def lock(self, unit: Unit, number: int) -> Incident:
        """Load incident ``number`` and lock its row until the unit ends."""
        incident = await unit.session.scalar(
            select(Incident)
            .where(Incident.number == number)
            .options(raiseload("*"))
            .with_for_update(of=Incident)
            .execution_options(populate_existing=True)
        )
        if incident is None:
            raise NotFound(f"there is no incident #{number}")
        # Load related rows only now: on PostgreSQL a waiter on the lock re-reads the incident row, but
        # anything joined in the same statement would still come from the snapshot before the wait.
        await unit.session.refresh(incident, RELATIONS)
        return incident

    async def record(
        self,
        unit: Unit,
        incident: Incident,
        principal: Principal,
        kind: str,
        text: str | None = None,
        data: dict[str, Any] | None = None,
        publish: bool = True,
    ) -> IncidentEvent:
        """Append a timeline event, run the hooks and queue the change for the surfaces."""
        entry = NewEvent(incident, principal, kind, text, data)
        return (await self.record_all(unit, [entry], publish))[0]

    async def record_all(self, unit: Unit, entries: Sequence[NewEvent], publish: bool = True
                         ) -> list[IncidentEvent]:
        """``record`` for several incidents at once: one INSERT of the events, the hooks called once."""
        rows = self.event_rows(unit, entries)
        # Core, not the ORM: nobody reads an event's id, and a flush would cost more than the INSERT.
        await unit.session.execute(insert(EVENTS), rows)
        return await self.recorded(unit, entries, rows, publish)

    def event_rows(self, unit: Unit, entries: Sequence[NewEvent]) -> list[dict[str, Any]]:
        """The incident_event rows of ``entries``; each incident's ``updated_at`` moves to now."""
        rows = []
        for entry in entries:
            principal, incident = entry.principal, entry.incident
            rows.append({"incident_id": incident.id, "kind": entry.kind, "actor_person_id": principal.person_id,
                         "actor_source": principal.actor.source,
                         "actor_external_id": principal.actor.external_id, "actor_name": principal.name,
                         "text": entry.text, "data": entry.data or {}, "at": unit.now})
            incident.updated_at = max(unit.now, incident.created_at)
        return rows

    async def recorded(self, unit: Unit, entries: Sequence[NewEvent], rows: Sequence[dict[str, Any]],
                       publish: bool = True, detached: bool = False) -> list[IncidentEvent]:
        """Run the hooks and queue the views for events already inserted (``rows``). ``detached``: the
        entries' incidents are copies outside the session, so the views read the rows afresh."""
        events = [IncidentEvent(**row) for row in rows]  # what the hooks read; never added to the session
        changed = [(entry.incident, event) for entry, event in zip(entries, events, strict=True)]
        for hook in self.hooks:
            await hook.on_changes(unit.session, changed)
        if publish and (unit.views or self.bus.observed):
            for entry, event in zip(entries, events, strict=True):
                incident = entry.incident
                if detached:
                    incident = await unit.session.get(Incident, incident.id, populate_existing=True)
                    assert incident is not None
                view = await full_view(unit.session, incident, unit.now)
                unit.changes.append(IncidentChange(view, entry.kind, entry.principal.name,
                                                   entry.principal.actor.source, entry.text, event.data))
        return events

    async def authorise(self, unit: Unit, principal: Principal, team_id: int | None, permission: Permission) -> None:
        role = await directory.role_in(unit.session, principal, team_id)
        if not allows(role, permission):
            needed = least_role_for(permission).value
            held = role.value if role else "no role"
            raise PermissionDenied(f"{principal.name} ({held}) may not {permission.value}; it needs {needed} or above")

    # -- declare ------------------------------------------------------------------------------

    async def next_number(self, session: AsyncSession) -> int:
        if self.db.is_postgres:
            return int(await session.scalar(select(func.nextval("incident_number_seq"))))
        return int(await session.scalar(select(func.coalesce(func.max(Incident.number), 0) + 1)))

    async def open_incident(
        self,
        unit: Unit,
        principal: Principal,
        title: str,
        *,
        severity: Severity = Severity.MEDIUM,
        service: str | None = None,
        team_id: int | None = None,
        description: str | None = None,
        labels: dict[str, Any] | None = None,
        dedup_key: str | None = None,
        group_key: str | None = None,
        source: str | None = None,
    ) -> Incident:
        """Insert a new open incident and its "declared" event (no dedup check: callers do that)."""
        title = title.strip()
        if not title:
            raise InvalidInput("an incident needs a title")
        incident = Incident(
            number=await self.next_number(unit.session),
            title=title[:500],
            description=description,
            status=Status.OPEN.value,
            severity=Severity(severity).value,
            service=service,
            team_id=team_id,
            labels=labels or {},
            dedup_key=dedup_key,
            group_key=group_key,
            source=source or principal.actor.source,
            created_by_id=principal.person_id,
            created_at=unit.now,
            updated_at=unit.now,
        )
        unit.session.add(incident)
        await unit.session.flush()
        await self.record(unit, incident, principal, "declared", incident.title, {"severity": incident.severity})
        return incident

    async def open_by_dedup_key(self, session: AsyncSession, dedup_key: str) -> Incident | None:
        return await session.scalar(
            select(Incident).where(
                Incident.dedup_key == dedup_key, Incident.status.in_([s.value for s in Status if not s.is_final])
            )
        )

    async def declare(
        self,
        actor: Actor,
        title: str,
        *,
        severity: Severity | str = Severity.MEDIUM,
        service: str | None = None,
        team: str | None = None,
        description: str | None = None,
        labels: dict[str, Any] | None = None,
        dedup_key: str | None = None,
    ) -> ActionResult:
        """Open an incident; with a dedup key that is already open, return that one unchanged."""
        severity = _severity(severity)
        for attempt in range(2):
            try:
                async with self.unit() as unit:
                    principal = await directory.resolve(unit.session, actor)
                    team_row = await directory.team_by_name(unit.session, team) if team else None
                    team_id = team_row.id if team_row else None
                    await self.authorise(unit, principal, team_id, Permission.DECLARE)
                    existing = await self.open_by_dedup_key(unit.session, dedup_key) if dedup_key else None
                    if existing is not None:
                        view = await full_view(unit.session, existing, unit.now)
                        return ActionResult(view, False, f"{view.ref} is already open for {dedup_key!r}")
                    incident = await self.open_incident(
                        unit, principal, title, severity=severity, service=service, team_id=team_id,
                        description=description, labels=labels, dedup_key=dedup_key,
                    )
                    view = unit.changes[-1].incident
                return ActionResult(view, True, f"Declared {view.ref}: {incident.title}")
            except IntegrityError:
                if attempt or not dedup_key:  # a concurrent declare won the dedup key: return its incident
                    raise
        raise AssertionError("unreachable")

    # -- transitions --------------------------------------------------------------------------

    async def transition(
        self, unit: Unit, incident: Incident, principal: Principal, target: Status, text: str | None = None
    ) -> tuple[bool, str]:
        """Move ``incident`` to ``target`` (already locked and authorised). Returns (changed, message)."""
        entry = self.moved(unit, incident, principal, target, text)
        if entry is None:
            return False, self._already(incident, target)
        await self.record_all(unit, [entry])
        return True, f"#{incident.number} {entry.kind} by {principal.name}"

    def moved(self, unit: Unit, incident: Incident, principal: Principal, target: Status,
              text: str | None = None) -> NewEvent | None:
        """Apply the state change to the row; the timeline entry to record, or None if already there."""
        current = Status(incident.status)
        if current is target and target is not Status.ESCALATING:
            return None
        if current is not target and not can_transition(current, target):
            raise InvalidTransition(f"#{incident.number} cannot be {target.value}: "
                                    f"{refusal_reason(current, target)}")
        incident.status = target.value
        at = max(unit.now, incident.created_at)  # another process's clock, or its commit while we waited
        if target is Status.ACKNOWLEDGED:
            incident.acknowledged_at, incident.acknowledged_by_id = at, principal.person_id
        elif target.is_final:
            incident.resolved_at, incident.resolved_by_id = at, principal.person_id
        kind = {Status.ESCALATING: "escalated"}.get(target, target.value)
        return NewEvent(incident, principal, kind, text)

    def _already(self, incident: Incident, status: Status) -> str:
        if status is Status.ACKNOWLEDGED:
            who, when = incident.acknowledged_by, incident.acknowledged_at
        else:
            who, when = incident.resolved_by, incident.resolved_at
        by = who.name if who else "the system"
        return f"#{incident.number} was already {status.value} by {by} at {_fmt(when)}"

    async def act(
        self,
        number: int,
        actor: Actor,
        permission: Permission,
        apply: Any,
    ) -> ActionResult:
        """Common frame: resolve, lock, authorise (recording refusals), apply, commit, publish."""
        refusal: PermissionDenied | None = None
        async with self.unit() as unit:
            principal = await directory.resolve(unit.session, actor)
            incident = await self.lock(unit, number)
            try:
                await self.authorise(unit, principal, incident.team_id, permission)
            except PermissionDenied as exc:
                refusal = exc
                await self.record(unit, incident, principal, "refused", str(exc), {"permission": permission.value},
                                  publish=False)
            else:
                changed, message = await apply(unit, incident, principal)
                view = unit.changes[-1].incident if changed else await full_view(unit.session, incident, unit.now)
        if refusal is not None:
            raise refusal
        return ActionResult(view, changed, message)

    async def acknowledge(self, number: int, actor: Actor) -> ActionResult:
        """Acknowledge: stops escalation; a second acknowledgement is a no-op."""
        return await self.act(number, actor, Permission.ACKNOWLEDGE,
                              lambda u, i, p: self.transition(u, i, p, Status.ACKNOWLEDGED))

    async def resolve(self, number: int, actor: Actor, note: str | None = None) -> ActionResult:
        """Resolve: final; a second resolve is a no-op. Resolved while alerts still fire, the timeline and the
        answer say so: the next firing notification opens a new incident (docs/silences.md)."""

        async def apply(unit: Unit, incident: Incident, principal: Principal) -> tuple[bool, str]:
            if Status(incident.status).is_final:
                return await self.transition(unit, incident, principal, Status.RESOLVED, note)
            firing = await unit.session.scalar(select(func.count()).select_from(Alert).where(
                Alert.incident_id == incident.id, Alert.status == "firing")) or 0
            if not firing:
                return await self.transition(unit, incident, principal, Status.RESOLVED, note)
            warning = still_firing(firing)
            changed, message = await self.transition(unit, incident, principal, Status.RESOLVED,
                                                     f"{note} ({warning})" if note else warning)
            return changed, (f"{message} {warning}; to hold them back: /incident silence {incident.number} 4h"
                             if changed else message)

        return await self.act(number, actor, Permission.RESOLVE, apply)

    async def cancel(self, number: int, actor: Actor, reason: str | None = None) -> ActionResult:
        """Cancel (declared by mistake, a duplicate): final."""
        return await self.act(number, actor, Permission.CANCEL,
                              lambda u, i, p: self.transition(u, i, p, Status.CANCELLED, reason))

    async def escalate(self, number: int, actor: Actor) -> ActionResult:
        """Escalate now: the next escalation step runs at once (acknowledged incidents are refused)."""
        return await self.act(number, actor, Permission.ESCALATE,
                              lambda u, i, p: self.transition(u, i, p, Status.ESCALATING, "escalated by hand"))

    async def assign(self, number: int, actor: Actor, assignee: Actor) -> ActionResult:
        """Make ``assignee`` (a platform identity, e.g. a chat @mention) the incident's owner."""

        async def apply(unit: Unit, incident: Incident, principal: Principal) -> tuple[bool, str]:
            target = await directory.find_person(unit.session, assignee)
            if target is None:
                raise InvalidInput(f"{assignee.display_name or assignee.external_id} is not linked to a Tocsin person")
            _require_open(incident, "assigned")
            if incident.assignee_id == target.id:
                return False, f"#{incident.number} is already assigned to {target.name}"
            incident.assignee_id = target.id
            await self.record(unit, incident, principal, "assigned", target.name, {"assignee_id": target.id})
            return True, f"#{incident.number} assigned to {target.name}"

        return await self.act(number, actor, Permission.ASSIGN, apply)

    async def add_note(self, number: int, actor: Actor, text: str) -> ActionResult:
        """Add a note to the timeline (allowed on closed incidents too, for the postmortem)."""
        if not text.strip():
            raise InvalidInput("a note needs some text")

        async def apply(unit: Unit, incident: Incident, principal: Principal) -> tuple[bool, str]:
            await self.record(unit, incident, principal, "note", text.strip())
            return True, f"Note added to #{incident.number}"

        return await self.act(number, actor, Permission.NOTE, apply)

    async def snooze(self, number: int, actor: Actor, duration: timedelta) -> ActionResult:
        """Hold escalation for ``duration`` (at most 24 hours)."""
        if not timedelta(minutes=1) <= duration <= MAX_SNOOZE:
            raise InvalidInput("snooze for between 1 minute and 24 hours, e.g. 30m or 2h")

        async def apply(unit: Unit, incident: Incident, principal: Principal) -> tuple[bool, str]:
            _require_open(incident, "snoozed")
            incident.snoozed_until = unit.now + duration
            until = _fmt(incident.snoozed_until)
            await self.record(unit, incident, principal, "snoozed", f"until {until}",
                              {"until": incident.snoozed_until.isoformat()})
            return True, f"#{incident.number} snoozed until {until}"

        return await self.act(number, actor, Permission.SNOOZE, apply)

    async def change_severity(self, number: int, actor: Actor, severity: Severity | str) -> ActionResult:
        """Change the severity; setting the same one is a no-op."""
        new = _severity(severity)

        async def apply(unit: Unit, incident: Incident, principal: Principal) -> tuple[bool, str]:
            _require_open(incident, "re-graded")
            old = incident.severity
            if old == new.value:
                return False, f"#{incident.number} is already {old}"
            incident.severity = new.value
            await self.record(unit, incident, principal, "severity_changed", f"{old} -> {new.value}",
                              {"from": old, "to": new.value})
            return True, f"#{incident.number} severity {old} -> {new.value}"

        return await self.act(number, actor, Permission.CHANGE_SEVERITY, apply)


def still_firing(count: int) -> str:
    """What a manual resolve says while ``count`` alerts of the incident still fire."""
    alerts = "1 alert still fires" if count == 1 else f"{count} alerts still fire"
    return f"while {alerts}: the next firing notification opens a new incident"


def _severity(value: Severity | str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise InvalidInput(
            f"unknown severity {value!r}: use one of {', '.join(s.value for s in Severity)}"
        ) from None


def _require_open(incident: Incident, verb: str) -> None:
    if Status(incident.status).is_final:
        raise InvalidTransition(f"#{incident.number} is {incident.status} and cannot be {verb}")
