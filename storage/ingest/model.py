"""What a delivery is: its alerts, their group, route, severity and fingerprint. No database here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage.actors import Actor, Source
from storage.states import Severity

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
    #: Resolved alerts found firing in another group (a resolve without every group_by label):
    #: fingerprint -> (group key, dedup key) of the incident they fire in.
    regroup: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """How an integration's alerts are owned and grouped (from the config file)."""

    integration: str
    team: str | None = None
    auto_resolve: bool = True
    group_by: tuple[str, ...] = ("service", "instance", "alertname")
    team_label: str = "team"
    services: Mapping[str, str] = field(default_factory=dict)
    flap_count: int = 0  # the flap gate (storage/gates.py): 0 off
    flap_within: timedelta = timedelta(0)
    severity_label: str = "severity"
    unlabelled_severity: Severity = Severity.MEDIUM  # an alert without the severity label at all

    def severity_of(self, alert: AlertIn) -> Severity:
        """The alert's severity, read from this integration's severity label."""
        word = alert.labels.get(self.severity_label)
        return severity_of(word) if word not in (None, "") else self.unlabelled_severity

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
    unmatched: list[str] = field(default_factory=list)  # fingerprints of resolves that matched no alert
    acknowledged: int = 0
    auto_resolved: list[int] = field(default_factory=list)

    def touched(self, number: int) -> None:
        if number not in self.incidents:
            self.incidents.append(number)


def common_labels(alerts: list[AlertIn]) -> dict[str, str]:
    """The labels every one of ``alerts`` has with the same value."""
    if not alerts:
        return {}
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common


def service_of(alerts: list[AlertIn]) -> str:
    return next((a.labels["service"] for a in alerts if a.labels.get("service")), "")


def group_title(firing: Sequence[AlertIn], route: Route) -> str:
    """The title of a group the sender gave none: its first alert's, and how many others differ from it."""
    first = title_of(firing[0], route)
    others = sum(1 for a in firing[1:] if title_of(a, route) != first)
    return f"{first} and {others} more" if others else first


def title_of(alert: AlertIn, route: Route) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description")
    if isinstance(summary, str) and summary.strip():
        return summary
    return str(alert.labels.get("alertname") or f"Alert from {route.integration}")
