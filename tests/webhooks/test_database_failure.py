"""Our own failures answer 503 (so Alertmanager retries) and leave nothing half-written; the retry succeeds."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage.db import sync_url
from storage.queries import IncidentFilter
from tests.webhooks.support import AM, client_for, configure, fixture, sidecar_app

FIRING = fixture("005_firing_HighLatency.json")  # two alerts: the failure strikes between the inserts


@pytest.mark.parametrize("url", ["sqlite:////nonexistent/dir/tocsin.db", "postgresql://postgres@127.0.0.1:1/test"])
async def test_an_unreachable_database_gets_503(url):
    container = bootstrap.build(Settings(database_url=url, scheduler=False), TocsinConfig(), parts=bootstrap.SIDECAR)
    configure(container)
    try:
        async with client_for(sidecar_app(container), container) as http:
            response = await http.post("/webhooks/alertmanager", json=FIRING, headers=AM)
            assert response.status_code == 503
            assert response.json()["error"] == "unavailable" and response.headers["retry-after"]
            metrics = (await http.get("/metrics")).text
    finally:
        await container.close()
    assert 'tocsin_webhooks_total{outcome="unavailable",source="alertmanager"} 1.0' in metrics


def _break_inserts(url: str, table: str = "alert") -> str:
    """Make the database fail in the middle of the delivery's transaction (after the incident insert)."""
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The connection dies mid-transaction, as when the server restarts.
            conn.execute(text("CREATE FUNCTION tocsin_test_die() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$"))
            conn.execute(text(f"CREATE TRIGGER tocsin_test_die BEFORE INSERT ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION tocsin_test_die()"))
        else:
            conn.execute(text(f"CREATE TRIGGER tocsin_test_die BEFORE INSERT ON {table} "
                              "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))
    engine.dispose()
    return engine.dialect.name


def _repair(url: str, table: str = "alert") -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS tocsin_test_die" +
                          (f" ON {table}" if engine.dialect.name == "postgresql" else "")))
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP FUNCTION IF EXISTS tocsin_test_die()"))
    engine.dispose()


# Each table is written at a different point: the alerts and the timeline by the ingest, the ledger's
# steps by the escalation hook; on PostgreSQL those writes are held and sent with a later question or
# just before the commit, so the failure surfaces there.
@pytest.mark.parametrize("table", ["alert", "incident_event", "escalation_step"])
async def test_a_failure_mid_transaction_gets_503_and_the_retry_makes_one_incident(client, container, changes, table):
    url = container.settings.database_url
    _break_inserts(url, table)
    try:
        response = await client.post("/webhooks/alertmanager", json=FIRING, headers=AM)
        assert response.status_code == 503
        assert (await container.queries.list(IncidentFilter()))[1] == 0  # no incident without its alerts
        await container.bus.drain()
        assert changes == []
    finally:
        _repair(url, table)
    for _ in range(2):  # Alertmanager's retry, then the HA replica's copy
        assert (await client.post("/webhooks/alertmanager", json=FIRING, headers=AM)).status_code == 200
    views, total = await container.queries.list(IncidentFilter())
    assert total == 1 and views[0].alerts_firing == 2
    await container.bus.drain()
    assert [c.kind for c in changes] == ["declared"]

