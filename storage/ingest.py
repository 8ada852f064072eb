"""Alert ingestion: turn monitoring alerts into incidents, idempotently.

Every monitoring source (Alertmanager, Grafana, Elastic, PagerDuty Events, the generic JSON) is parsed
by its web adapter into a ``Delivery``; this module alone decides what a delivery means: which alert
it is (the fingerprint), which incident it belongs to (the group), who owns it (the team), how severe
it is, and whether it is new, a repeat, a resolution or a stale retry. It imports no web framework.

Senders deliver at least once, so everything here is idempotent: a repeat only bumps an alert's count
and last-seen time and publishes nothing. On PostgreSQL a transaction-scoped advisory lock per group
serialises concurrent deliveries of one group; the partial unique index on open dedup keys and the
retry below are the second line of defence.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import raiseload

from storage.actors import Actor, Source
from storage.directory import Principal
from storage.incidents import IncidentService, Unit
from storage.models import Alert, Incident, Team
from storage.states import ACTIVE, Severity, Status

ATTEMPTS = 3
#: PostgreSQL errors worth retrying the whole delivery for: deadlock, serialization failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

_SEVERITY_WORDS: dict[Severity, tuple[str, ...]] = {
    Severity.CRITICAL: ("critical", "crit", "p0", "p1", "page", "fatal", "emergency", "emerg", "alert",
                        "disaster", "blocker", "urgent", "sev0", "sev1", "sev-0", "sev-1"),
    Severity.HIGH: ("high", "error", "err", "major", "severe", "sev2", "sev-2"),
    Severity.MEDIUM: ("warning", "warn", "p2", "p3", "medium", "moderate", "average", "sev3", "sev-3"),
    Severity.LOW: ("info", "informational", "information", "notice", "p4", "p5", "low", "minor", "debug",
                   "ok", "none", "sev4", "sev5", "sev-4", "sev-5"),
}
#: Every severity word we know (Alertmanager/Prometheus conventions, P-levels, Elastic's and
#: PagerDuty's words), mapped to ours. The one place severities are translated.
SEVERITY_MAP: dict[str, Severity] = {w: sev for sev, words in _SEVERITY_WORDS.items() for w in words}
_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


def severity_of(word: object) -> Severity:
    """Our severity for a sender's word; an unknown or missing word is medium (never an error)."""
    return SEVERITY_MAP.get(str(word or "").strip().lower(), Severity.MEDIUM)


def digest(*parts: object) -> str:
    """A stable hex key for any JSON-able value (label sets, payloads without a key of their own)."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def label_fingerprint(labels: Mapping[str, Any]) -> str:
    """The fingerprint of an alert without one: a hash of its full, sorted label set."""
    return digest(sorted((str(k), str(v)) for k, v in labels.items()))


def bounded(key: str, limit: int) -> str:
    """``key`` itself when it fits a column of ``limit`` characters, else a hash of it."""
    return key if len(key) <= limit else f"sha256:{digest(key)}"


@dataclass(frozen=True)
class AlertIn:
    """One alert as a sender reported it."""

    fingerprint: str
    firing: bool
    labels: dict[str, str]
    annotations: dict[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None  # None: now
    ends_at: datetime | None = None
    generator_url: str | None = None

    @property
    def severity(self) -> Severity:
        return severity_of(self.labels.get("severity"))


@dataclass(frozen=True)
class Delivery:
    """One inbound payload: its alerts and, when the sender groups them (Alertmanager), the group."""

    alerts: tuple[AlertIn, ...]
    group_key: str | None = None
    title: str | None = None
    truncated: int = 0


@dataclass(frozen=True)
class Route:
    """How an integration's alerts are owned and grouped (from the config file)."""

    integration: str
    team: str | None = None
    auto_resolve: bool = True
    group_by: tuple[str, ...] = ("service", "instance", "alertname")
    team_label: str = "team"
    services: Mapping[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return Actor.system(Source.WEBHOOK, self.integration)

    def group_of(self, delivery: Delivery, alert: AlertIn) -> str:
        """The group key: the sender's own (Alertmanager groupKey), else the group-by labels."""
        if delivery.group_key:
            return delivery.group_key
        values = [f"{name}={alert.labels[name]}" for name in self.group_by if alert.labels.get(name)]
        return ",".join(values) if values else f"fingerprint={alert.fingerprint}"

    def dedup_key(self, group: str) -> str:
        return bounded(f"{self.integration}:{group}", 500)


@dataclass
class IngestResult:
    """What one delivery did, for the HTTP answer and the metrics."""

    incidents: list[int] = field(default_factory=list)
    opened: list[tuple[int, str]] = field(default_factory=list)  # (number, severity)
    fired: int = 0
    resolved: int = 0
    deduplicated: int = 0
    stale: int = 0
    ignored: int = 0
    acknowledged: int = 0
    auto_resolved: list[int] = field(default_factory=list)

    def touched(self, number: int) -> None:
        if number not in self.incidents:
            self.incidents.append(number)


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
                    return await self._apply(unit, delivery, route)
            except DBAPIError as exc:  # a concurrent writer won a race: start again from its result
                if attempt == ATTEMPTS - 1 or not is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    async def acknowledge(self, key: str, route: Route) -> IngestResult:
        """Acknowledge the open incident of a group (PagerDuty's ``acknowledge`` event)."""
        result = IngestResult()
        async with self.incidents.unit() as unit:
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
        for key in sorted(set(keys)):  # a fixed order, so two deliveries never deadlock
            lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            await unit.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    async def _open_incident_of(self, unit: Unit, dedup_key: str) -> Incident | None:
        return await unit.session.scalar(
            select(Incident)
            .where(Incident.dedup_key == dedup_key, Incident.status.in_([s.value for s in ACTIVE]))
            .options(raiseload("*"))  # the view loads relations after the lock; joins here would be stale
            .with_for_update(of=Incident)
            .execution_options(populate_existing=True)
        )

    async def _apply_group(
        self, unit: Unit, delivery: Delivery, route: Route, work: _GroupWork, result: IngestResult
    ) -> None:
        work.incident = await self._open_incident_of(unit, route.dedup_key(work.key))
        rows = await self._rows_in(unit, work.incident, [a.fingerprint for a in work.alerts])
        last_resolved = await self._last_resolutions(
            unit, route, [a.fingerprint for a in work.alerts if a.firing and a.fingerprint not in rows])
        for alert in work.alerts:
            row = rows.get(alert.fingerprint)
            if alert.firing:
                new = await self._fire(unit, delivery, route, work, alert, row, last_resolved, result)
                if new is not None:
                    rows[alert.fingerprint] = new  # the same alert twice in one payload is a repeat
            else:
                self._resolve(unit, work, alert, row, result)
        if work.incident is not None:
            result.touched(work.incident.number)
            if delivery.group_key and delivery.truncated != work.incident.truncated_alerts:
                work.incident.truncated_alerts = max(delivery.truncated, 0)
            await self._announce(unit, route, work, result)

    async def _rows_in(self, unit: Unit, incident: Incident | None, fingerprints: list[str]) -> dict[str, Alert]:
        if incident is None:
            return {}
        rows = await unit.session.scalars(
            select(Alert).where(Alert.incident_id == incident.id, Alert.fingerprint.in_(set(fingerprints)))
        )
        return {row.fingerprint: row for row in rows}

    async def _last_resolutions(self, unit: Unit, route: Route, fingerprints: list[str]) -> dict[str, datetime]:
        """When each fingerprint last resolved (any incident), to recognise late retries of old firings."""
        if not fingerprints:
            return {}
        rows = await unit.session.execute(
            select(Alert.fingerprint, func.max(Alert.ends_at))
            .where(Alert.fingerprint.in_(set(fingerprints)), Alert.source == route.integration[:32],
                   Alert.status == "resolved")
            .group_by(Alert.fingerprint)
        )
        return {fp: ends for fp, ends in rows if ends is not None}

    async def _fire(
        self, unit: Unit, delivery: Delivery, route: Route, work: _GroupWork, alert: AlertIn,
        row: Alert | None, last_resolved: dict[str, datetime], result: IngestResult,
    ) -> Alert | None:
        starts = alert.starts_at or unit.now
        if row is not None:
            if row.status == "firing":
                result.deduplicated += 1
                row.occurrence_count += 1
                row.last_seen_at = unit.now
            elif row.ends_at is not None and starts <= row.ends_at:
                result.stale += 1  # a retry of the firing this alert already resolved
            else:
                row.status, row.starts_at, row.ends_at = "firing", starts, None
                row.occurrence_count += 1
                row.last_seen_at = unit.now
                work.fired.append(alert.fingerprint)
                result.fired += 1
            return None
        resolved_at = last_resolved.get(alert.fingerprint)
        if resolved_at is not None and starts <= resolved_at:
            result.stale += 1  # older than its resolution: reopens nothing
            return None
        if work.incident is None:
            work.incident = await self._open(unit, delivery, route, work)
            work.opened = True
        new = self._new_row(unit, route, work.incident, alert, starts)
        unit.session.add(new)
        work.fired.append(alert.fingerprint)
        result.fired += 1
        return new

    def _resolve(self, unit: Unit, work: _GroupWork, alert: AlertIn, row: Alert | None,
                 result: IngestResult) -> None:
        if row is None:
            result.ignored += 1  # never seen firing, or its incident was closed by hand
            return
        row.last_seen_at = unit.now
        if row.status == "resolved":
            result.deduplicated += 1
            return
        ends = alert.ends_at or unit.now
        row.status, row.ends_at = "resolved", max(ends, row.starts_at)
        work.resolved.append(alert.fingerprint)
        result.resolved += 1

    def _new_row(self, unit: Unit, route: Route, incident: Incident, alert: AlertIn, starts: datetime) -> Alert:
        return Alert(
            fingerprint=alert.fingerprint, incident_id=incident.id, status="firing", labels=alert.labels,
            annotations=alert.annotations, starts_at=starts, ends_at=None, source=route.integration[:32],
            generator_url=alert.generator_url, occurrence_count=1, last_seen_at=unit.now, created_at=unit.now,
        )

    # -- opening and announcing ---------------------------------------------------------------

    async def _open(self, unit: Unit, delivery: Delivery, route: Route, work: _GroupWork) -> Incident:
        """A new incident for the group; its "declared" event waits until its alerts are in."""
        firing = [a for a in work.alerts if a.firing]
        severity = max((a.severity for a in firing), key=_RANK.__getitem__, default=Severity.MEDIUM)
        labels = _common_labels(firing)
        team_id = await self._team_for(unit, route, labels, firing)
        incident = Incident(
            number=await self.incidents.next_number(unit.session),
            title=(delivery.title or _title(firing[0], route)).strip()[:500] or "Alert",
            status=Status.OPEN.value, severity=severity.value, service=_service(firing)[:200] or None,
            team_id=team_id, labels=labels, dedup_key=route.dedup_key(work.key),
            group_key=bounded(work.key, 1000), source=Source.WEBHOOK.value, created_at=unit.now,
            updated_at=unit.now, truncated_alerts=max(delivery.truncated, 0),
        )
        unit.session.add(incident)
        await unit.session.flush()
        return incident

    async def _team_for(self, unit: Unit, route: Route, labels: Mapping[str, str],
                        alerts: list[AlertIn]) -> int | None:
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
            await unit.session.flush()
            await self.incidents.record(unit, incident, principal, "declared", incident.title,
                                        {"severity": incident.severity, "source": route.integration,
                                         "alerts": len(work.fired)})
            result.opened.append((incident.number, incident.severity))
            return
        if not (work.fired or work.resolved):
            return
        await unit.session.flush()
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
        rows = await unit.session.execute(
            select(Alert.status, func.count()).where(Alert.incident_id == incident.id).group_by(Alert.status))
        counts = {status: n for status, n in rows}
        return counts.get("firing", 0), counts.get("resolved", 0)


def _common_labels(alerts: list[AlertIn]) -> dict[str, str]:
    if not alerts:
        return {}
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common


def _service(alerts: list[AlertIn]) -> str:
    return next((a.labels["service"] for a in alerts if a.labels.get("service")), "")


def _title(alert: AlertIn, route: Route) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description")
    if isinstance(summary, str) and summary.strip():
        return summary
    return str(alert.labels.get("alertname") or f"Alert from {route.integration}")
