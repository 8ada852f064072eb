"""Alert ingestion: turn monitoring alerts into incidents, idempotently.

Every monitoring source (Alertmanager, Grafana, Elastic, PagerDuty Events, the generic JSON) is parsed
by its web adapter into a ``Delivery``; this package alone decides what a delivery means: which alert
it is (the fingerprint), which incident it belongs to (the group), who owns it (the team), how severe
it is, and whether it is new, a repeat, a resolution or a stale retry. It imports no web framework.

Senders deliver at least once, so everything here is idempotent: a repeat only bumps an alert's count
and last-seen time and publishes nothing. On PostgreSQL a transaction-scoped advisory lock per group
serialises concurrent deliveries of one group; the partial unique index on open dedup keys and the
retry of the whole delivery are the second line of defence.

``model`` holds what a delivery is and ``decide`` what a batch of them does (no database); ``apply``
applies them in one transaction (``pg``: its PostgreSQL statements); ``batch`` lets concurrent
deliveries share that transaction (group commit).
"""

from storage.ingest.apply import ATTEMPTS, RETRYABLE_SQLSTATES, AlertIngest, is_retryable
from storage.ingest.batch import GroupCommit
from storage.ingest.model import (
    SEVERITY_MAP,
    AlertIn,
    Delivery,
    IngestResult,
    Route,
    bounded,
    digest,
    label_fingerprint,
    severity_of,
)

__all__ = [
    "ATTEMPTS", "RETRYABLE_SQLSTATES", "SEVERITY_MAP", "AlertIn", "AlertIngest", "Delivery", "GroupCommit", "IngestResult",
    "Route", "bounded", "digest", "is_retryable", "label_fingerprint", "severity_of",
]
