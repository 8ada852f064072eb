"""Applying a delivery: one transaction, as few statements as the guarantees allow.

Per group: lock the group, read its open incident (row-locked) and the rows of the alerts named in the
payload as plain tuples, decide every alert's new state in Python, then write: the incident (one
INSERT ... RETURNING that also draws its number) when the group opens one, the new alert rows in one
multi-row INSERT, the changed ones in one executemany UPDATE, and one timeline event. Alert rows never
enter the ORM session, so there is no identity-map work and nothing stale for the view to read.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import raiseload

from storage.actors import Source
from storage.directory import Principal
from storage.incidents import IncidentService, Unit
from storage.ingest.model import (
    _RANK,
    AlertIn,
    Delivery,
    IngestResult,
    Route,
    bounded,
    common_labels,
    service_of,
    title_of,
)
from storage.models import Alert, Incident, Team
from storage.states import ACTIVE, Severity, Status

ATTEMPTS = 3
#: PostgreSQL errors worth retrying the whole delivery for: deadlock, serialization failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ACTIVE_STATUSES = tuple(s.value for s in ACTIVE)
ALERTS = Alert.__table__
#: PostgreSQL: every changed row in one statement, the new values passed as arrays.
_UPDATE_ALERTS_PG = text("""
    UPDATE alert SET status = v.status, starts_at = v.starts_at, ends_at = v.ends_at,
                     occurrence_count = v.occurrence_count, last_seen_at = v.last_seen_at
    FROM unnest(CAST(:ids AS integer[]), CAST(:statuses AS varchar[]), CAST(:starts AS timestamptz[]),
                CAST(:ends AS timestamptz[]), CAST(:counts AS integer[]), CAST(:seen AS timestamptz[]))
         AS v(id, status, starts_at, ends_at, occurrence_count, last_seen_at)
    WHERE alert.id = v.id""")
#: SQLite: the same as one executemany.
_UPDATE_ALERT = (
    update(ALERTS)
    .where(ALERTS.c.id == bindparam("row_id"))
    .values(status=bindparam("status"), starts_at=bindparam("starts_at"), ends_at=bindparam("ends_at"),
            occurrence_count=bindparam("occurrence_count"), last_seen_at=bindparam("last_seen_at"))
)


@dataclass
class _Row:
    """An alert row's mutable state (existing: ``id`` set; new in this delivery: ``alert`` set)."""

    id: int | None
    status: str
    starts_at: datetime
    ends_at: datetime | None
    occurrence_count: int
    last_seen_at: datetime | None = None
    alert: AlertIn | None = None
    dirty: bool = False


@dataclass
class _GroupWork:
    """The alerts of one group in one delivery, and what happened to its incident."""

    key: str
    alerts: list[AlertIn]
    incident: Incident | None = None
    opened: bool = False
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class AlertIngest:
    """Applies deliveries to incidents; one transaction per delivery, changes published after commit."""

    def __init__(self, incidents: IncidentService, team_ttl: float = 30.0) -> None:
        self.incidents = incidents
        self.team_ttl = team_ttl
        self._teams: dict[str, tuple[int, float]] = {}  # lower-case name -> (id, expiry on the monotonic clock)

    async def ingest(self, delivery: Delivery, route: Route) -> IngestResult:
        """Apply a delivery: open, join, repeat, resolve or ignore each of its alerts."""
        for attempt in range(ATTEMPTS):
            try:
                async with self.incidents.unit() as unit:
                    unit.views = False  # only the bus reads this unit's changes
                    return await self._apply(unit, delivery, route)
            except DBAPIError as exc:  # a concurrent writer won a race: start again from its result
                if attempt == ATTEMPTS - 1 or not is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    async def acknowledge(self, key: str, route: Route) -> IngestResult:
        """Acknowledge the open incident of a group (PagerDuty's ``acknowledge`` event)."""
        result = IngestResult()
        async with self.incidents.unit() as unit:
            unit.views = False
            await self._lock_groups(unit, [route.dedup_key(key)])
            incident = await self._open_incident_of(unit, route.dedup_key(key))
            if incident is not None:
                result.touched(incident.number)
                principal = Principal(route.actor, None)
                if incident.status != Status.ACKNOWLEDGED.value:
                    await self.incidents.transition(unit, incident, principal, Status.ACKNOWLEDGED)
                    result.acknowledged += 1
        return result

    # -- one delivery -------------------------------------------------------------------------

    async def _apply(self, unit: Unit, delivery: Delivery, route: Route) -> IngestResult:
        result = IngestResult()
        groups: dict[str, _GroupWork] = {}
        for alert in delivery.alerts:
            key = route.group_of(delivery, alert)
            groups.setdefault(key, _GroupWork(key, [])).alerts.append(alert)
        await self._lock_groups(unit, [route.dedup_key(k) for k in groups])
        for work in groups.values():
            await self._apply_group(unit, delivery, route, work, result)
        return result

    async def _lock_groups(self, unit: Unit, keys: Iterable[str]) -> None:
        if not self.incidents.db.is_postgres:
            # The Python driver only opens SQLite's transaction at the first write, so reads before it are
            # not isolated from another process. Writing first takes the database's write lock now (waiting
            # for another writer), making the whole delivery one serialised transaction.
            await unit.session.execute(text("UPDATE incident SET id = id WHERE 0"))
            return
        connection = await unit.session.connection()
        for key in sorted(set(keys)):  # a fixed order, so two deliveries never deadlock
            lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            # The driver's own SQL: nothing to compile or cache for the statement every delivery starts with.
            await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%(id)s)", {"id": lock_id})

    async def _open_incident_of(self, unit: Unit, dedup_key: str) -> Incident | None:
        return await unit.session.scalar(
            select(Incident)
            .where(Incident.dedup_key == dedup_key, Incident.status.in_(ACTIVE_STATUSES))
            .options(raiseload("*"))  # the view loads relations after the lock; joins here would be stale
            .with_for_update(of=Incident)
            .execution_options(populate_existing=True)
        )

    async def _apply_group(
        self, unit: Unit, delivery: Delivery, route: Route, work: _GroupWork, result: IngestResult
    ) -> None:
        work.incident = await self._open_incident_of(unit, route.dedup_key(work.key))
        rows = await self._rows_in(unit, work.incident, {a.fingerprint for a in work.alerts})
        last_resolved = await self._last_resolutions(
            unit, route, {a.fingerprint for a in work.alerts if a.firing and a.fingerprint not in rows})
        for alert in work.alerts:  # in payload order: the same alert twice in one payload is a repeat
            row = rows.get(alert.fingerprint)
            if alert.firing:
                new = self._fire(unit, work, alert, row, last_resolved, result)
                if new is not None:
                    rows[alert.fingerprint] = new
            else:
                self._resolve(unit, work, alert, row, result)
        await self._write(unit, delivery, route, work, rows)
        if work.incident is not None:
            result.touched(work.incident.number)
            if delivery.group_key and delivery.truncated != work.incident.truncated_alerts:
                work.incident.truncated_alerts = max(delivery.truncated, 0)
            await self._announce(unit, route, work, result)

    async def _rows_in(self, unit: Unit, incident: Incident | None, fingerprints: set[str]) -> dict[str, _Row]:
        if incident is None:
            return {}
        c = ALERTS.c
        found = await unit.session.execute(
            select(c.id, c.fingerprint, c.status, c.starts_at, c.ends_at, c.occurrence_count)
            .where(c.incident_id == incident.id, c.fingerprint.in_(fingerprints))
        )
        return {fp: _Row(id_, status, starts, ends, count) for id_, fp, status, starts, ends, count in found}

    async def _last_resolutions(self, unit: Unit, route: Route, fingerprints: set[str]) -> dict[str, datetime]:
        """When each fingerprint last resolved (any incident), to recognise late retries of old firings."""
        if not fingerprints:
            return {}
        c = ALERTS.c
        found = await unit.session.execute(
            select(c.fingerprint, func.max(c.ends_at))
            .where(c.fingerprint.in_(fingerprints), c.source == route.integration[:32], c.status == "resolved")
            .group_by(c.fingerprint)
        )
        return {fp: ends for fp, ends in found if ends is not None}

    def _fire(self, unit: Unit, work: _GroupWork, alert: AlertIn, row: _Row | None,
              last_resolved: dict[str, datetime], result: IngestResult) -> _Row | None:
        starts = alert.starts_at or unit.now
        if row is not None:
            if row.status == "firing":
                result.deduplicated += 1
                row.occurrence_count += 1
            elif row.ends_at is not None and starts <= row.ends_at:
                result.stale += 1  # a retry of the firing this alert already resolved
                return None
            else:
                row.status, row.starts_at, row.ends_at = "firing", starts, None
                row.occurrence_count += 1
                work.fired.append(alert.fingerprint)
                result.fired += 1
            row.last_seen_at, row.dirty = unit.now, True
            return None
        resolved_at = last_resolved.get(alert.fingerprint)
        if resolved_at is not None and starts <= resolved_at:
            result.stale += 1  # older than its resolution: reopens nothing
            return None
        work.fired.append(alert.fingerprint)
        result.fired += 1
        return _Row(None, "firing", starts, None, 1, unit.now, alert=alert)

    def _resolve(self, unit: Unit, work: _GroupWork, alert: AlertIn, row: _Row | None,
                 result: IngestResult) -> None:
        if row is None:
            result.ignored += 1  # never seen firing, or its incident was closed by hand
            return
        row.last_seen_at, row.dirty = unit.now, True
        if row.status == "resolved":
            result.deduplicated += 1
            return
        ends = alert.ends_at or unit.now
        row.status, row.ends_at = "resolved", max(ends, row.starts_at)
        work.resolved.append(alert.fingerprint)
        result.resolved += 1

    async def _write(self, unit: Unit, delivery: Delivery, route: Route, work: _GroupWork,
                     rows: Mapping[str, _Row]) -> None:
        """Persist the group's decisions: at most one INSERT of new rows and one UPDATE of changed ones."""
        new = [(fp, r) for fp, r in rows.items() if r.id is None]
        if new and work.incident is None:
            work.incident = await self._open(unit, delivery, route, work)
            work.opened = True
        if new:
            assert work.incident is not None
            await unit.session.execute(insert(ALERTS), [
                _new_row(unit, route, work.incident.id, fp, r) for fp, r in new])
        changed = [r for r in rows.values() if r.id is not None and r.dirty]
        if not changed:
            return
        if self.incidents.db.is_postgres:
            await unit.session.execute(_UPDATE_ALERTS_PG, {
                "ids": [r.id for r in changed], "statuses": [r.status for r in changed],
                "starts": [r.starts_at for r in changed], "ends": [r.ends_at for r in changed],
                "counts": [r.occurrence_count for r in changed], "seen": [r.last_seen_at for r in changed]})
        else:
            await unit.session.execute(_UPDATE_ALERT, [
                {"row_id": r.id, "status": r.status, "starts_at": r.starts_at, "ends_at": r.ends_at,
                 "occurrence_count": r.occurrence_count, "last_seen_at": r.last_seen_at} for r in changed])

    # -- opening and announcing ---------------------------------------------------------------

    def _number(self) -> Any:
        """The next incident number as SQL inside the INSERT (as ``IncidentService.next_number`` draws it)."""
        if self.incidents.db.is_postgres:
            return func.nextval("incident_number_seq")
        return select(func.coalesce(func.max(Incident.number), 0) + 1).scalar_subquery()

    async def _open(self, unit: Unit, delivery: Delivery, route: Route, work: _GroupWork) -> Incident:
        """A new incident for the group, in one INSERT ... RETURNING; its "declared" event waits for its alerts."""
        firing = [a for a in work.alerts if a.firing]
        severity = max((a.severity for a in firing), key=_RANK.__getitem__, default=Severity.MEDIUM)
        labels = common_labels(firing)
        team_id = await self._team_for(unit, route, firing)
        values = dict(
            number=self._number(),
            title=(delivery.title or title_of(firing[0], route)).strip()[:500] or "Alert",
            status=Status.OPEN.value, severity=severity.value, service=service_of(firing)[:200] or None,
            team_id=team_id, labels=labels, dedup_key=route.dedup_key(work.key),
            group_key=bounded(work.key, 1000), source=Source.WEBHOOK.value, created_at=unit.now,
            updated_at=unit.now, truncated_alerts=max(delivery.truncated, 0),
        )
        return (await unit.session.scalars(insert(Incident).values(**values).returning(Incident))).one()

    async def _team_for(self, unit: Unit, route: Route, alerts: list[AlertIn]) -> int | None:
        """The team label, else the service map, else the integration's team (unknown names fall through)."""
        candidates = [a.labels.get(route.team_label) for a in alerts]
        candidates += [route.services.get(a.labels.get("service", "")) for a in alerts]
        candidates.append(route.team)
        for name in candidates:
            if name:
                team_id = await self._team_id(unit, name.lower())
                if team_id is not None:
                    return team_id
        return None

    async def _team_id(self, unit: Unit, name: str) -> int | None:
        """A team's id by name, remembered briefly: teams change only when the config file is applied."""
        cached = self._teams.get(name)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        team_id = await unit.session.scalar(select(Team.id).where(func.lower(Team.name) == name))
        if team_id is not None:
            self._teams[name] = (team_id, time.monotonic() + self.team_ttl)
        return team_id

    async def _announce(self, unit: Unit, route: Route, work: _GroupWork, result: IngestResult) -> None:
        """One timeline event (and so one published change) per incident per delivery, none for repeats."""
        incident, principal = work.incident, Principal(route.actor, None)
        assert incident is not None
        if work.opened:
            await self.incidents.record(unit, incident, principal, "declared", incident.title,
                                        {"severity": incident.severity, "source": route.integration,
                                         "alerts": len(work.fired)})
            result.opened.append((incident.number, incident.severity))
            return
        if not (work.fired or work.resolved):
            return
        firing, resolved = await self._counts(unit, incident)
        data = {"firing": firing, "resolved": resolved, "fired": work.fired, "cleared": work.resolved}
        if firing == 0 and route.auto_resolve and incident.status != Status.RESOLVED.value:
            await self.incidents.transition(unit, incident, principal, Status.RESOLVED,
                                            f"all {resolved} alerts resolved")
            result.auto_resolved.append(incident.number)
            return
        kind = "alert_fired" if not work.resolved else "alert_resolved" if not work.fired else "alerts_changed"
        await self.incidents.record(unit, incident, principal, kind, f"{firing} firing, {resolved} resolved", data)

    async def _counts(self, unit: Unit, incident: Incident) -> tuple[int, int]:
        c = ALERTS.c
        found = await unit.session.execute(
            select(c.status, func.count()).where(c.incident_id == incident.id).group_by(c.status))
        counts = {status: n for status, n in found}
        return counts.get("firing", 0), counts.get("resolved", 0)


def _new_row(unit: Unit, route: Route, incident_id: int, fingerprint: str, row: _Row) -> dict[str, Any]:
    alert = row.alert
    assert alert is not None
    return {
        "fingerprint": fingerprint, "incident_id": incident_id, "status": row.status, "labels": alert.labels,
        "annotations": alert.annotations, "starts_at": row.starts_at, "ends_at": row.ends_at,
        "source": route.integration[:32], "generator_url": alert.generator_url,
        "occurrence_count": row.occurrence_count, "last_seen_at": row.last_seen_at, "created_at": unit.now,
    }
