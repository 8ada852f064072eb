"""Real ``tocsin serve`` processes on one PostgreSQL: exactly once across two, and across a SIGKILL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage.actors import Actor, Source
from storage.clock import SystemClock
from storage.models import EscalationStep, IncidentEvent, Notification
from tests.escalation.processes import Serve, Sink, config_file

pytestmark = pytest.mark.postgres
ACTOR = Actor.system(Source.CLI, "test")


@pytest.fixture
async def core(pg_url):
    """The test's own handle on the database, with the ledger hook (as the webhook sidecar has)."""
    c = bootstrap.build(Settings(database_url=pg_url, scheduler=False), TocsinConfig(), SystemClock(),
                        parts=bootstrap.Parts(escalation="ledger"))
    yield c
    await c.close()


async def count(core, query) -> int:
    async with core.db.sessions() as session:
        return int(await session.scalar(query))


async def eventually(predicate, within: float, step: float = 0.25) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(step)


async def test_two_processes_page_every_step_of_200_incidents_exactly_once(pg_url, core, tmp_path):
    config = config_file(tmp_path / "tocsin.yml", ["3s", "6s"], leads=2)
    async with Sink() as sink:
        servers = [Serve(pg_url, config, sink, tmp_path / f"serve{i}.log") for i in range(2)]
        try:
            for server in servers:
                await server.start()
            for i in range(200):
                await core.incidents.declare(ACTOR, f"Incident {i}", team="payments", severity="high")

            async def all_sent() -> bool:
                return await count(core, select(func.count()).select_from(Notification)
                                   .where(Notification.status == "SENT")) >= 800

            await eventually(all_sent, within=45)
            await asyncio.sleep(1)  # anything duplicated would show up now
        finally:
            for server in servers:
                server.stop()
    assert await count(core, select(func.count()).select_from(EscalationStep)
                       .where(EscalationStep.status == "EXECUTED")) == 400
    assert await count(core, select(func.count()).select_from(IncidentEvent)
                       .where(IncidentEvent.kind == "escalated")) == 400
    assert await count(core, select(func.count()).select_from(Notification)) == 800  # 400 steps x 2 leads
    assert len(sink.keys) == 800 and len(set(sink.keys)) == 800
    async with core.db.sessions() as session:
        by = set(await session.scalars(select(EscalationStep.executed_by).distinct()))
    assert len(by) >= 1  # which process ran which step is up to the race; see the benchmark for the split


async def test_a_step_due_while_the_process_is_killed_runs_once_right_after_restart(pg_url, core, tmp_path):
    config = config_file(tmp_path / "tocsin.yml", ["15s"])
    async with Sink() as sink:
        server = Serve(pg_url, config, sink, tmp_path / "serve.log")
        try:
            await server.start()
            declared = await core.incidents.declare(ACTOR, "Checkout down", team="payments", severity="high")
            due = declared.incident.created_at.timestamp() + 15
            await asyncio.sleep(due - 10 - time.time())
            server.kill()  # 10 seconds before the step is due
            killed_pid = server.pid
            await asyncio.sleep(30)
            restarted = datetime.now(UTC)
            await server.start()

            async def sent() -> bool:
                return len(sink.keys) >= 1

            await eventually(sent, within=10)
            await asyncio.sleep(1.5)
        finally:
            server.stop()
    async with core.db.sessions() as session:
        [step] = list(await session.scalars(select(EscalationStep)))
        notifications = list(await session.scalars(select(Notification)))
    assert step.status == "EXECUTED" and step.late_by_seconds >= 19
    assert str(killed_pid) not in step.executed_by and str(server.pid) in step.executed_by
    assert (step.executed_at - restarted).total_seconds() < 8  # right after start-up
    assert len(notifications) == 1 and notifications[0].status == "SENT" and len(sink.keys) == 1
    timeline = await core.queries.timeline(declared.incident.number)
    assert [e.text for e in timeline if e.kind == "escalated"][0].endswith("late)")
