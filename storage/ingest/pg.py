"""The ingest's statements on PostgreSQL, run on the session's own connection through the driver.

The same transaction as the session's (so the ORM, the hooks and the views see every row), but without
SQLAlchemy's per-statement work, which on the webhook hot path cost three to four times the driver's
own. Every statement text is fixed (arrays, never expanding IN lists); the lookups whose best plan
depends on how many values they carry are planned for their values (see ``pgdriver``). SQLite takes the
portable path in ``apply``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.models import Incident

INCIDENT_COLUMNS = tuple(c.name for c in Incident.__table__.columns)

LOCK_GROUPS = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k"
#: The statuses are literals, as in the partial unique index on open dedup keys, so that even a prepared
#: statement's generic plan can use that index (a parameter there cannot prove the index's predicate).
#: One probe of that index per key: as ``dedup_key = ANY(keys)`` the planner, before the table's first
#: statistics, read every open incident through the status index and filtered them (a scan that grows
#: with the open incidents); a lookup of one key in a unique index it never mistakes for a large one.
OPEN_INCIDENTS = (f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM unnest(%s::varchar[]) AS k(dedup) "
                  f"CROSS JOIN LATERAL (SELECT {', '.join(INCIDENT_COLUMNS)} FROM incident "
                  "WHERE dedup_key = k.dedup AND status IN ('open', 'escalating', 'acknowledged') "
                  "LIMIT 1 FOR UPDATE) AS i")
ROWS = ("SELECT id, incident_id, fingerprint, status, starts_at, ends_at, occurrence_count FROM alert "
        "WHERE incident_id = ANY(%s::integer[]) AND fingerprint = ANY(%s::varchar[])")
#: When each (source, fingerprint) last resolved: one probe of the fingerprint index per alert. As
#: ``fingerprint = ANY(...)`` the planner, before the table's first statistics, took a batch's hundred
#: fingerprints for most of the table and read all of it (18 ms for 100,000 alerts, against 0.7).
LAST_RESOLUTIONS = ("SELECT k.source, k.fingerprint, (SELECT max(ends_at) FROM alert WHERE fingerprint = k.fingerprint "
                    "AND source = k.source AND status = 'resolved') "
                    "FROM unnest(%s::varchar[], %s::varchar[]) AS k(source, fingerprint)")
#: The columns the ingest writes, with their PostgreSQL types (``pgdriver.insert_rows``).
INCIDENT_ROW = {"title": "varchar", "status": "varchar", "severity": "varchar", "service": "varchar",
                "team_id": "integer", "labels": "jsonb", "dedup_key": "varchar", "group_key": "varchar",
                "source": "varchar", "created_at": "timestamptz", "updated_at": "timestamptz",
                "truncated_alerts": "integer"}
ALERT_ROW = {"fingerprint": "varchar", "incident_id": "integer", "status": "varchar", "labels": "jsonb",
             "annotations": "jsonb", "starts_at": "timestamptz", "ends_at": "timestamptz", "source": "varchar",
             "generator_url": "varchar", "occurrence_count": "integer", "last_seen_at": "timestamptz",
             "created_at": "timestamptz"}
EVENT_ROW = {"incident_id": "integer", "kind": "varchar", "actor_person_id": "integer", "actor_source": "varchar",
             "actor_external_id": "varchar", "actor_name": "varchar", "text": "text", "data": "jsonb",
             "at": "timestamptz"}
#: Drawn in row order, so incidents opened together are numbered in arrival order.
NEXT_NUMBER = {"number": "nextval('incident_number_seq')"}
#: What a delivery changes on an alert row it repeats or resolves (``pgdriver.update_rows``).
ALERT_CHANGE = {"status": "varchar", "starts_at": "timestamptz", "ends_at": "timestamptz",
                "occurrence_count": "integer", "last_seen_at": "timestamptz"}
COUNTS = ("SELECT incident_id, status, count(*) FROM alert WHERE incident_id = ANY(%s::integer[]) "
          "GROUP BY incident_id, status")
#: What a delivery can change on an incident it joins: the state (auto-resolve), the time, "+N more".
INCIDENT_CHANGE = {"status": "varchar", "resolved_at": "timestamptz", "resolved_by_id": "integer",
                   "updated_at": "timestamptz", "truncated_alerts": "integer"}


def incident_of(row: Sequence[Any]) -> Incident:
    """An ``Incident`` carrying a row's values, outside the session: the hooks and the rules read it, and
    what changes on it is written back with ``INCIDENT_CHANGE``."""
    return Incident(**dict(zip(INCIDENT_COLUMNS, row, strict=True)))
