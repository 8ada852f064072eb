"""Applying deliveries: one transaction, as few statements as the guarantees allow, however many arrive.

Deliveries that arrive together (``batch.GroupCommit``) are applied in one transaction, set-based over
all their groups: lock every group, read their open incidents (row-locked) and the rows of the alerts
they name as plain tuples, decide every alert's new state in Python in arrival order (``decide``),
then write: the new incidents in one INSERT ... RETURNING (that also draws their numbers), the new
alert rows in one multi-row INSERT, the changed ones in one UPDATE, the timeline events in one INSERT. So a
transaction costs about the same number of statements for one delivery as for sixty. Alert rows never
enter the ORM session: no identity-map work, nothing stale for the view to read. On PostgreSQL the
statements go through the driver (``pg``); SQLite takes the portable SQLAlchemy path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import raiseload

from storage import gates, pgdriver
from storage.actors import Source
from storage.directory import Principal
from storage.incidents import IncidentService, NewEvent, Unit
from storage.ingest import pg
from storage.ingest.decide import GroupWork, Row, decide, new_row, plan
from storage.ingest.model import (
    _RANK,
    AlertIn,
    Delivery,
    IngestResult,
    Route,
    bounded,
    common_labels,
    group_title,
    service_of,
)
from storage.models import Alert, Incident, Team
from storage.states import ACTIVE, Severity, Status

ATTEMPTS = 3
#: PostgreSQL errors worth retrying the whole transaction for: deadlock, serialization failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ACTIVE_STATUSES = tuple(s.value for s in ACTIVE)
ALERTS = Alert.__table__
#: SQLite: every changed row in one executemany (PostgreSQL: ``pgdriver.update_rows``).
_UPDATE_ALERT = (
    update(ALERTS)
    .where(ALERTS.c.id == bindparam("row_id"))
    .values(status=bindparam("status"), starts_at=bindparam("starts_at"), ends_at=bindparam("ends_at"),
            occurrence_count=bindparam("occurrence_count"), last_seen_at=bindparam("last_seen_at"))
)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class AlertIngest:
    """Applies deliveries to incidents, in one transaction per batch; changes published after commit."""

    def __init__(self, incidents: IncidentService, team_ttl: float = 30.0) -> None:
        self.incidents = incidents
        self.pg = incidents.db.is_postgres  # PostgreSQL: the statements go through the driver (see ``pg``)
        self.team_ttl = team_ttl
        self._teams: dict[str, tuple[int, float]] = {}  # lower-case name -> (id, expiry on the monotonic clock)

    async def ingest(self, delivery: Delivery, route: Route) -> IngestResult:
        """Apply a delivery: open, join, repeat, resolve or ignore each of its alerts."""
        return (await self.ingest_all([(delivery, route)]))[0]

    async def ingest_all(self, items: Sequence[tuple[Delivery, Route]]) -> list[IngestResult]:
        """Apply several deliveries in one transaction, as if one after the other; a result for each."""
        for attempt in range(ATTEMPTS):
            results = [IngestResult() for _ in items]
            try:
                async with self.incidents.unit() as unit:
                    unit.views = False  # only the bus reads this unit's changes
                    await self._apply(unit, plan(await self._regroup(unit, items)), results)
                return results
            except DBAPIError as exc:  # a concurrent writer won a race: start again from its result
                if attempt == ATTEMPTS - 1 or not is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    async def acknowledge(self, key: str, route: Route) -> IngestResult:
        """Acknowledge the open incident of a group (PagerDuty's ``acknowledge`` event)."""
        result = IngestResult()
        dedup_key = route.dedup_key(key)
        async with self.incidents.unit() as unit:
            unit.views = False
            await self._lock_groups(unit, [dedup_key])
            incident = (await self._open_incidents_orm(unit, [dedup_key])).get(dedup_key)
            if incident is not None:
                result.touched(incident.number)
                principal = Principal(route.actor, None)
                if incident.status != Status.ACKNOWLEDGED.value:
                    await self.incidents.transition(unit, incident, principal, Status.ACKNOWLEDGED)
                    result.acknowledged += 1
        return result

    # -- one transaction ----------------------------------------------------------------------

    async def _regroup(self, unit: Unit, items: Sequence[tuple[Delivery, Route]]
                       ) -> Sequence[tuple[Delivery, Route]]:
        """Resolves of senders without a group of their own, sent to the incident their alert fires in
        (found by fingerprint) when their labels name another group: a resolve lacking a group_by label."""
        wanted = {(route.integration[:32], a.fingerprint) for delivery, route in items if not delivery.group_key
                  for a in delivery.alerts if not a.firing}
        if not wanted:
            return items
        if not self.pg:
            await self._lock_groups(unit, ())  # SQLite: the write lock before the first read
        c = ALERTS.c
        found = await unit.session.execute(
            select(c.source, c.fingerprint, Incident.group_key, Incident.dedup_key)
            .join(Incident, Incident.id == c.incident_id)
            .where(c.fingerprint.in_({fp for _, fp in wanted}), c.source.in_({s for s, _ in wanted}),
                   c.status == "firing", Incident.status.in_(ACTIVE_STATUSES)))
        firing = {(source, fp): (group, dedup) for source, fp, group, dedup in found if group and dedup}
        regrouped = []
        for delivery, route in items:
            moves = {a.fingerprint: firing[(route.integration[:32], a.fingerprint)] for a in delivery.alerts
                     if not a.firing and (route.integration[:32], a.fingerprint) in firing}
            regrouped.append((dataclasses.replace(delivery, regroup=moves) if moves else delivery, route))
        return regrouped

    async def _apply(self, unit: Unit, groups: dict[str, GroupWork], results: list[IngestResult]) -> None:
        if not groups:
            return
        works = list(groups.values())
        await self._lock_groups(unit, groups)
        incidents = await self._open_incidents(unit, list(groups))
        for work in works:
            work.incident = incidents.get(work.dedup_key)
        last_resolved, before = await self._read_alerts(unit, works)
        for work in works:
            decide(unit.now, work, last_resolved, results)
        if not self.pg:  # PostgreSQL asked with the rows, for every incident the batch joins
            before = await self._counts(unit, [w.incident.id for w in _changed(works) if w.incident is not None])
        await self._write(unit, works)
        for work in works:
            if work.incident is not None:
                for part in work.parts:
                    results[part.index].touched(work.incident.number)
        await self._announce(unit, works, results, before)

    async def _lock_groups(self, unit: Unit, keys: Iterable[str]) -> None:
        if not self.incidents.db.is_postgres:
            # The Python driver only opens SQLite's transaction at the first write, so reads before it are
            # not isolated from another process. Writing first takes the database's write lock now (waiting
            # for another writer), making the whole batch one serialised transaction.
            await unit.session.execute(text("UPDATE incident SET id = id WHERE 0"))
            return
        # One statement for every group, in a fixed order so that two transactions never deadlock; the
        # driver's own SQL, with nothing to compile or cache.
        lock_ids = sorted({int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "big", signed=True)
                           for k in keys})
        (await pgdriver.driver(unit.session)).later(pg.LOCK_GROUPS, [lock_ids])  # sent with the first read

    async def _open_incidents(self, unit: Unit, dedup_keys: list[str]) -> dict[str, Incident]:
        """The open incident of each group, row-locked (on PostgreSQL, copies outside the session)."""
        if not self.pg:
            return await self._open_incidents_orm(unit, dedup_keys)
        rows = await (await pgdriver.driver(unit.session)).fetch(pg.OPEN_INCIDENTS, [dedup_keys])
        incidents = [pg.incident_of(row) for row in rows]
        return {incident.dedup_key: incident for incident in incidents if incident.dedup_key}

    async def _open_incidents_orm(self, unit: Unit, dedup_keys: list[str]) -> dict[str, Incident]:
        found = await unit.session.scalars(
            select(Incident)
            .where(Incident.dedup_key.in_(dedup_keys), Incident.status.in_(ACTIVE_STATUSES))
            .options(raiseload("*"))  # the view loads relations after the lock; joins here would be stale
            .with_for_update(of=Incident)
            .execution_options(populate_existing=True)
        )
        return {incident.dedup_key: incident for incident in found if incident.dedup_key}

    async def _read_alerts(self, unit: Unit, works: list[GroupWork]
                           ) -> tuple[dict[tuple[str, str], datetime], dict[tuple[int, str], int]]:
        """Fill each group's rows of the alerts it names in its open incident; return when each alert new
        to its group last resolved (in any incident), to recognise late retries, and on PostgreSQL how
        many alerts of each open incident fire and have resolved. There the questions go out together,
        so the second asks about every firing alert (``decide`` reads only those without a row)."""
        by_incident = {w.incident.id: w for w in works if w.incident is not None}
        fingerprints = list({a.fingerprint for w in by_incident.values() for a in w.alerts()})
        c = ALERTS.c
        if self.pg:
            asked = [(pg.ROWS, [list(by_incident), fingerprints], False),
                     (pg.COUNTS, [list(by_incident)], False)] if by_incident else []
            wanted = _resolvable(works, also_known=True)
            if wanted:
                pairs = list(wanted)
                asked.append((pg.LAST_RESOLUTIONS, [[s for s, _ in pairs], [fp for _, fp in pairs]], None))
            answers = await (await pgdriver.driver(unit.session)).fetch_each(asked) if asked else []
            _fill(by_incident, answers[0] if by_incident else ())
            before = {(incident_id, status): n for incident_id, status, n in answers[1]} if by_incident else {}
            return _resolutions(answers[-1] if wanted else ()), before
        if by_incident:
            _fill(by_incident, await unit.session.execute(
                select(c.id, c.incident_id, c.fingerprint, c.status, c.starts_at, c.ends_at, c.occurrence_count)
                .where(c.incident_id.in_(by_incident), c.fingerprint.in_(fingerprints))))
        wanted = _resolvable(works, also_known=False)
        if not wanted:
            return {}, {}
        firing, sources = _fingerprints_and_sources(wanted)
        return _resolutions(await unit.session.execute(
            select(c.source, c.fingerprint, func.max(c.ends_at))
            .where(c.fingerprint.in_(firing), c.source.in_(sources), c.status == "resolved")
            .group_by(c.source, c.fingerprint))), {}

    # -- writing ------------------------------------------------------------------------------

    async def _write(self, unit: Unit, works: list[GroupWork]) -> None:
        """Persist every decision: one INSERT of incidents, one of new alert rows, one UPDATE of changed ones."""
        opening = [w for w in works if w.incident is None and any(r.id is None for r in w.rows.values())]
        if opening:
            await self._open(unit, opening)
        for work in works:
            incident = work.incident
            if incident is not None and work.truncated is not None and work.truncated != incident.truncated_alerts:
                incident.truncated_alerts, work.changed = work.truncated, True
        new = [new_row(unit.now, w, fp, r) for w in works for fp, r in w.rows.items() if r.id is None]
        if new and self.pg:
            await pgdriver.insert_rows(await pgdriver.driver(unit.session), "alert", pg.ALERT_ROW, new)
        elif new:
            await unit.session.execute(insert(ALERTS), new)
        changed = [r for w in works for r in w.rows.values() if r.id is not None and r.dirty]
        if not changed:
            return
        values = [{"row_id": r.id, "status": r.status, "starts_at": r.starts_at, "ends_at": r.ends_at,
                   "occurrence_count": r.occurrence_count, "last_seen_at": r.last_seen_at} for r in changed]
        if self.pg:
            await pgdriver.update_rows(await pgdriver.driver(unit.session), "alert", pg.ALERT_CHANGE, values, key="row_id")
        else:
            await unit.session.execute(_UPDATE_ALERT, values)

    def _number(self) -> Any:
        """The next incident number as SQL inside the INSERT (as ``IncidentService.next_number`` draws it)."""
        return select(func.coalesce(func.max(Incident.number), 0) + 1).scalar_subquery()

    async def _open(self, unit: Unit, works: list[GroupWork]) -> None:
        """New incidents for the groups, in one INSERT ... RETURNING; numbered in arrival order."""
        values = []
        for work in works:
            firing = [a for a in work.alerts() if a.firing]
            assert work.opener is not None
            first = next(p.delivery for p in work.parts if p.index == work.opener)
            severity = max((work.route.severity_of(a) for a in firing), key=_RANK.__getitem__, default=Severity.MEDIUM)
            values.append(dict(
                title=(first.title or group_title(firing, work.route)).strip()[:500] or "Alert",
                status=Status.OPEN.value, severity=severity.value, service=service_of(firing)[:200] or None,
                team_id=await self._team_for(unit, work.route, firing), labels=common_labels(firing),
                dedup_key=work.dedup_key, group_key=bounded(work.key, 1000), source=Source.WEBHOOK.value,
                created_at=unit.now, updated_at=unit.now, truncated_alerts=work.truncated or 0,
            ))
        if self.pg:
            drawn = await pgdriver.insert_rows(await pgdriver.driver(unit.session), "incident", pg.INCIDENT_ROW, values,
                                         computed=pg.NEXT_NUMBER, returning="id, number")
            opened = [Incident(**v, id=id_, number=number, escalation_level=0)
                      for v, (id_, number) in zip(values, drawn, strict=True)]  # RETURNING keeps the rows' order
        else:
            opened = list(await unit.session.scalars(
                insert(Incident).values(number=self._number()).returning(Incident, sort_by_parameter_order=True),
                values))
        for work, incident in zip(works, opened, strict=True):
            work.incident, work.opened = incident, True

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

    # -- announcing ---------------------------------------------------------------------------

    async def _announce(self, unit: Unit, works: list[GroupWork], results: list[IngestResult],
                        before: dict[tuple[int, str], int]) -> None:
        """One timeline event (and so one published change) per incident per batch, none for repeats."""
        entries = []
        flapping = await gates.flapping(unit.session, unit.now, (
            (w.dedup_key, w.route.flap_count, w.route.flap_within.total_seconds()) for w in works
            if w.route.flap_count and w.incident is not None and w.resolved))
        for work in works:
            incident, principal = work.incident, Principal(work.route.actor, None)
            if incident is None:
                continue
            if work.opened:
                entries.append(NewEvent(incident, principal, "declared", incident.title,
                                             {"severity": incident.severity, "source": work.route.integration,
                                              "alerts": len(work.fired)}))
                results[work.opener or 0].opened.append((incident.number, incident.severity))
                if work.resolved and not any(r.status == "firing" for r in work.rows.values()):
                    # fired and cleared within one transaction: as if the deliveries had come one by one
                    self._auto_resolve(unit, work, len(work.rows), entries, results, flapping)
                continue
            if not (work.fired or work.resolved):
                continue
            firing, resolved = work.counts(before)
            if firing == 0 and work.route.auto_resolve:
                self._auto_resolve(unit, work, resolved, entries, results, flapping)
                continue
            data = {"firing": firing, "resolved": resolved, "fired": work.fired, "cleared": work.resolved}
            kind = "alert_fired" if not work.resolved else "alert_resolved" if not work.fired else "alerts_changed"
            entries.append(NewEvent(incident, principal, kind, f"{firing} firing, {resolved} resolved", data))
        if not self.pg:
            if entries:
                await self.incidents.record_all(unit, entries)
            return
        rows = self.incidents.event_rows(unit, entries)  # moves updated_at
        conn = await pgdriver.driver(unit.session)
        # Written back: "+N more", and every incident with news but a bare declaration (its row is as inserted).
        touched = {id(e.incident) for e in entries if e.kind != "declared"}
        changed = [w.incident for w in works if w.incident is not None and (w.changed or id(w.incident) in touched)]
        if changed:
            await pgdriver.update_rows(conn, "incident", pg.INCIDENT_CHANGE,
                                 [{"id": i.id, **{n: getattr(i, n) for n in pg.INCIDENT_CHANGE}} for i in changed])
        if entries:
            await pgdriver.insert_rows(conn, "incident_event", pg.EVENT_ROW, rows)
            await self.incidents.recorded(unit, entries, rows, detached=True)

    def _auto_resolve(self, unit: Unit, work: GroupWork, resolved: int, entries: list[NewEvent],
                      results: list[IngestResult], flapping: dict[str, int]) -> None:
        """Every alert of the incident has resolved: so has the incident (when the integration says so),
        unless the group flaps (``flapping``: the flap gate's groups, by dedup key)."""
        incident = work.incident
        if incident is None or not work.route.auto_resolve or incident.status == Status.RESOLVED.value:
            return
        if work.dedup_key in flapping:  # the flap gate: stays open, the next firing joins it
            within = texts_ago(work.route.flap_within)
            entries.append(NewEvent(incident, Principal(work.route.actor, None), gates.EVENT,
                                    f"flapping: all {resolved} alerts resolved, but the group opened "
                                    f"{flapping[work.dedup_key]} incidents in {within}; stays open",
                                    {"resolved": resolved, "opened": flapping[work.dedup_key],
                                     "within": int(work.route.flap_within.total_seconds())}))
            return
        entry = self.incidents.moved(unit, incident, Principal(work.route.actor, None), Status.RESOLVED,
                                     f"all {resolved} alerts resolved")
        if entry is not None:
            entries.append(entry)
            results[work.closer or 0].auto_resolved.append(incident.number)

    async def _counts(self, unit: Unit, incident_ids: list[int]) -> dict[tuple[int, str], int]:
        """Firing and resolved alerts of each incident, before this transaction's writes (SQLite)."""
        if not incident_ids:
            return {}
        c = ALERTS.c
        found = await unit.session.execute(
            select(c.incident_id, c.status, func.count())
            .where(c.incident_id.in_(incident_ids)).group_by(c.incident_id, c.status))
        return {(incident_id, status): n for incident_id, status, n in found}


def _changed(works: Iterable[GroupWork]) -> list[GroupWork]:
    """The groups that join an open incident with news: an alert fired again or resolved."""
    return [w for w in works if w.incident is not None and not w.opened and (w.fired or w.resolved)]


def _resolvable(works: Iterable[GroupWork], also_known: bool) -> set[tuple[str, str]]:
    """(source, fingerprint) of the firing alerts whose last resolution matters: those without a row in
    their group's open incident (``also_known``: every firing alert, before the rows are known)."""
    return {(w.source, a.fingerprint) for w in works for a in w.alerts()
            if a.firing and (also_known or a.fingerprint not in w.rows)}


def _fingerprints_and_sources(wanted: set[tuple[str, str]]) -> list[list[str]]:
    return [list({fp for _, fp in wanted}), list({source for source, _ in wanted})]


def _fill(by_incident: dict[int, GroupWork], rows: Iterable[Any]) -> None:
    for id_, incident_id, fp, status, starts, ends, count in rows:
        by_incident[incident_id].rows[fp] = Row(id_, status, starts, ends, count, was=status)


def _resolutions(found: Iterable[Any]) -> dict[tuple[str, str], datetime]:
    return {(source, fp): ends for source, fp, ends in found if ends is not None}


def texts_ago(within: timedelta) -> str:
    """``30m``, ``2h``, ``90s``: a window as the config file writes it."""
    seconds = int(within.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
