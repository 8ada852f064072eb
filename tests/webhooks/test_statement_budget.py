"""How many round trips to the database a delivery costs: a regression guard for the ingest hot path.

Each is a wait on the server plus SQLAlchemy and driver work (about half a millisecond of CPU on the
benchmark machine), so these counts are what the sidecar's throughput is made of. On PostgreSQL the
ingest holds back writes nobody reads the answer of and sends them in one pipeline with the next
question (``pgdriver``): a pipeline is one round trip. With no observer on
the bus (the sidecar alone) nothing builds the incident view; with one (``tocsin serve``) it is built
once per changed incident and the observer still hears every real change.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import event

from storage.incidents import IncidentService
from storage.ingest import AlertIn, AlertIngest, Delivery, Route, pg
from storage.ports import ChangeBus, RecordingObserver
from storage.states import ACTIVE

ROUTE = Route("alertmanager", team="payments")
STARTS = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _delivery(status: str, size: int) -> Delivery:
    ends = None if status == "firing" else datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    return Delivery(tuple(AlertIn(f"fp-{i}", status == "firing", {"alertname": "Boom", "instance": f"h{i}"},
                                  {"summary": "boom"}, STARTS, ends) for i in range(size)),
                    group_key='{}:{alertname="Boom"}', title="Boom")


class Counter:
    """Round trips to the database: on PostgreSQL at the driver (the ingest sends most statements straight
    through psycopg; a pipeline, or a pipelined executemany, counts once), on SQLite as SQLAlchemy sends
    them."""

    def __init__(self, container, monkeypatch) -> None:
        self.statements: list[str] = []
        if container.db.is_postgres:
            for name in ("execute", "executemany"):
                original = getattr(psycopg.AsyncCursor, name)
                monkeypatch.setattr(psycopg.AsyncCursor, name, self._counting(original))
            monkeypatch.setattr(psycopg.AsyncConnection, "pipeline", self._pipelines(psycopg.AsyncConnection.pipeline))
        else:
            event.listen(container.db.engine.sync_engine, "before_cursor_execute", self._count)

    def _counting(self, original):
        async def counted(cursor, query, *args, **kwargs):
            # not the pool's liveness check on checkout, and not a statement inside a counted pipeline
            if str(query) != ";" and not cursor.connection.pgconn.pipeline_status:
                self.statements.append(str(query))
            return await original(cursor, query, *args, **kwargs)
        return counted

    def _pipelines(self, original):
        def counted(conn, *args, **kwargs):
            self.statements.append("pipeline")
            return original(conn, *args, **kwargs)
        return counted

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def take(self) -> int:
        n, self.statements = len(self.statements), []
        return n


@pytest.mark.parametrize("size", [1, 20])
async def test_statements_per_delivery_without_observers(container, people, size, monkeypatch):
    ingest = AlertIngest(IncidentService(container.db, ChangeBus(), container.clock))
    await ingest.ingest(_delivery("firing", 1), Route("warm-up", team="payments"))  # team id now cached
    counter = Counter(container, monkeypatch)

    pg = container.db.is_postgres
    opened = await ingest.ingest(_delivery("firing", size), ROUTE)
    # SQLite: lock, incident, last resolutions, INSERT incident, alerts, event. PostgreSQL: lock with the
    # incident, last resolutions, INSERT incident (its id is needed), alerts with the event at commit.
    assert len(opened.opened) == 1 and counter.take() == (4 if pg else 6)
    repeat = await ingest.ingest(_delivery("firing", size), ROUTE)
    # SQLite: lock, incident, alerts, one UPDATE. PostgreSQL: lock with the incident, alerts with their
    # counts and last resolutions, the UPDATE at commit.
    assert repeat.deduplicated == size and counter.take() == (3 if pg else 4)
    resolved = await ingest.ingest(_delivery("resolved", size), ROUTE)
    # SQLite: lock, incident, alerts, counts, the alerts' UPDATE, incident, event. PostgreSQL: lock with
    # the incident, alerts with their counts, and at commit the alerts, the incident and the event.
    assert resolved.auto_resolved and counter.take() == (3 if pg else 7)


async def test_with_an_observer_the_view_is_built_and_every_change_heard(container, people, monkeypatch):
    bus = ChangeBus()
    bus.subscribe(recorder := RecordingObserver())
    ingest = AlertIngest(IncidentService(container.db, bus, container.clock))
    await ingest.ingest(_delivery("firing", 1), Route("warm-up", team="payments"))
    counter = Counter(container, monkeypatch)

    await ingest.ingest(_delivery("firing", 3), ROUTE)
    # and the view: relations, first alerts (all of them, so counted there); on PostgreSQL the ingest's
    # incidents are copies outside the session, so the view first reads the row afresh, and the held
    # writes go out just before it (so the view sees them: three alerts firing, below); the team's chat
    # bindings come with each load of the team (twice on PostgreSQL: the fresh read, then the relations)
    pg = container.db.is_postgres
    assert counter.take() == (4 + 3 + 2 if pg else 6 + 2 + 1)
    await ingest.ingest(_delivery("firing", 3), ROUTE)  # a repeat: nothing to tell
    await ingest.ingest(_delivery("resolved", 3), ROUTE)
    await bus.drain()
    assert [c.kind for c in recorder.changes] == ["declared", "declared", "resolved"]
    declared, resolved = recorder.changes[1].incident, recorder.changes[2].incident
    assert declared.alerts_firing == 3 and declared.team and declared.team.name == "payments"
    assert resolved.alerts_firing == 0 and resolved.alerts_resolved == 3
    assert [a.occurrence_count for a in resolved.alerts] == [2, 2, 2]


async def test_a_view_of_more_alerts_than_it_shows_still_counts_them_all(container, people, monkeypatch):
    bus = ChangeBus()
    bus.subscribe(recorder := RecordingObserver())
    ingest = AlertIngest(IncidentService(container.db, bus, container.clock))
    counter = Counter(container, monkeypatch)
    await ingest.ingest(_delivery("firing", 12), ROUTE)
    pg = container.db.is_postgres  # with the team lookup; the view asks for the counts as well (and the
    # team's chat bindings, as above), and, this process's first view, the applied on-call schedules (read
    # at most once per 2 s: the test above, warmed up, sees none)
    assert counter.take() == (5 + 4 + 2 + 1 if pg else 7 + 3 + 1 + 1)
    await ingest.ingest(_delivery("resolved", 1), ROUTE)
    await bus.drain()
    declared, changed = (c.incident for c in recorder.changes)
    assert (declared.alerts_firing, declared.alerts_resolved, len(declared.alerts)) == (12, 0, 10)
    assert (changed.alerts_firing, changed.alerts_resolved, len(changed.alerts)) == (11, 1, 10)


def test_the_open_incident_query_names_exactly_the_active_statuses():
    named = set(re.findall(r"'(\w+)'", pg.OPEN_INCIDENTS.split("status IN", 1)[1]))
    assert named == {s.value for s in ACTIVE}


async def test_finding_a_group_s_open_incident_uses_the_open_dedup_key_index_even_when_prepared(pg_url):
    """A prepared statement soon runs a generic plan: it must still find the group's open incident through
    the partial unique index, not by reading every open incident (the cost would grow with them); and so
    before the table's first statistics, when two thousand incidents are open and the planner knows
    nothing of them (as in a fresh database's first busy minute)."""
    async with await _connect(pg_url) as conn:
        await _open_incidents(conn, 2000)
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute("PREPARE open_incidents AS " + pg.OPEN_INCIDENTS.replace("%s", "$1"))
        plan = "\n".join(r[0] for r in await (await conn.execute(
            "EXPLAIN EXECUTE open_incidents(ARRAY['alertmanager:5', 'alertmanager:b'])")).fetchall())
        found = await (await conn.execute("EXECUTE open_incidents(ARRAY['alertmanager:5', 'alertmanager:b'])")
                       ).fetchall()
    assert "Index Scan using uq_incident_open_dedup_key" in plan, plan
    assert "Index Cond: ((dedup_key)::text =" in plan, plan  # probed by key, not read whole
    assert [row[pg.INCIDENT_COLUMNS.index("dedup_key")] for row in found] == ["alertmanager:5"]


@pytest.mark.parametrize("prepared", [False, True])
async def test_last_resolutions_probe_the_fingerprint_index_even_without_statistics(pg_url, prepared):
    """A batch asks when a hundred alerts last resolved. Before the alert table's first statistics the
    planner once took that for most of the table and read all of it; each alert must be one probe of
    the fingerprint index, whatever the planner knows and whether the statement is prepared or not."""
    async with await _connect(pg_url) as conn:
        await _open_incidents(conn, 1)
        await conn.execute(
            "INSERT INTO alert (fingerprint, incident_id, status, labels, annotations, starts_at, ends_at, source,"
            " occurrence_count, last_seen_at, created_at) SELECT 'fp-' || g, (SELECT id FROM incident),"
            " CASE WHEN g % 10 = 0 THEN 'resolved' ELSE 'firing' END, '{}', '{}', now() - interval '1 hour',"
            " CASE WHEN g % 10 = 0 THEN now() END, 'alertmanager', 1, now(), now()"
            " FROM generate_series(1, 20000) AS g")
        keys = [["alertmanager"] * 150, [f"fp-{g}" for g in range(1000, 1150)]]
        query = pg.LAST_RESOLUTIONS
        if prepared:
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            await conn.execute("PREPARE last_resolutions AS " + query.replace("%s", "$1", 1).replace("%s", "$2", 1))
            # EXECUTE takes no bind parameters: the arrays go in as literals
            run = sql.SQL("EXECUTE last_resolutions({}::varchar[], {}::varchar[])").format(*map(sql.Literal, keys))
            plan_of, keys = sql.SQL("EXPLAIN ") + run, []
        else:
            run, plan_of = query, "EXPLAIN " + query
        plan = "\n".join(r[0] for r in await (await conn.execute(plan_of, keys)).fetchall())
        found = await (await conn.execute(run, keys)).fetchall()
    assert "Seq Scan on alert" not in plan, plan
    assert "Index Cond: ((fingerprint)::text = (k.fingerprint)::text)" in plan, plan
    assert sorted(fp for _, fp, ends in found if ends is not None) == [f"fp-{g}" for g in range(1000, 1150, 10)]


async def _connect(pg_url: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True)


async def _open_incidents(conn: psycopg.AsyncConnection, count: int) -> None:
    """``count`` open incidents, with dedup keys alertmanager:1 onwards; no statistics gathered."""
    await conn.execute(
        "INSERT INTO incident (number, title, status, severity, labels, dedup_key, source, created_at,"
        " updated_at, escalation_level, truncated_alerts) SELECT g, 't', 'open', 'high', '{}',"
        " 'alertmanager:' || g, 'webhook', now(), now(), 0, 0 FROM generate_series(1, %s) AS g", [count])
