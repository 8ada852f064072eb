"""The timer: APScheduler wakes the step job at the due time, catches up at start-up, one per SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.settings import Settings
from escalation.timer import JOB_ID, MAX_SLEEP, EscalationTimer, SchedulerRefused
from storage.clock import SystemClock
from storage.models import EscalationStep
from tests.escalation.conftest import steps, use_policy
from tests.escalation.fakes import RecordingSender


@pytest.fixture
async def live(db_url, people):
    """A second container on the same database with the real clock, wired as ``tocsin serve`` would be."""
    c = bootstrap.build(Settings(database_url=db_url), TocsinConfig(), SystemClock(),
                        parts=bootstrap.Parts(escalation="scheduler"), senders={"slack": RecordingSender("slack")})
    built = c.paging
    assert built is not None
    built.dispatcher.limits = {}
    yield c, built
    await built.timer.stop()
    await built.dispatcher.stop()
    await c.close()


async def wait_for(predicate, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_timer_wakes_the_step_job_at_the_due_time(live, people):
    container, paging = live
    await use_policy(container, "fast", [1, 2])
    await paging.timer.start()
    await paging.dispatcher.start()
    await container.incidents.declare(people.slack("responder"), "Latency", team="payments")
    await container.bus.drain()

    first_due = min(r.due_at for r in await steps(container))

    async def armed_for_the_first_step() -> bool:
        job = paging.timer.scheduler.get_job(JOB_ID)
        if job is not None and abs((job.next_run_time - first_due).total_seconds()) < 0.01:
            return True
        # On a loaded machine the step may have run before a check saw the timer armed for it: its
        # lateness, checked below, still tells a timer woken at its due time from one at its bound.
        return (await steps(container))[0].status == "EXECUTED"

    await wait_for(armed_for_the_first_step)  # not the 10-second bound: the due time itself
    job = paging.timer.scheduler.get_job(JOB_ID)
    assert job.misfire_grace_time is None and job.coalesce

    async def both_ran() -> bool:
        return [r.status for r in await steps(container)] == ["EXECUTED", "EXECUTED"]

    await wait_for(both_ran)
    rows = await steps(container)
    # At the due time: a timer that only woke at its 10-second bound would run these 8-9 s late.
    assert all(r.late_by_seconds < MAX_SLEEP / 2 for r in rows)
    await wait_for(lambda: _true(len(container.senders["slack"].sent) == 2))


async def _true(value: bool) -> bool:
    return value


async def test_start_up_runs_every_overdue_step_at_once_and_records_it_late(live, people):
    container, paging = live
    await use_policy(container, "fast", [1, 2])
    await container.incidents.declare(people.slack("responder"), "Latency", team="payments")
    async with container.db.transaction() as session:  # as if the process had been down for 20 seconds
        await session.execute(update(EscalationStep).values(due_at=datetime.now(UTC) - timedelta(seconds=20)))
    await paging.timer.start()

    async def ran() -> bool:
        return all(r.status == "EXECUTED" for r in await steps(container))

    await wait_for(ran, 3.0)
    assert all(r.late_by_seconds >= 20 for r in await steps(container))
    timeline = await container.queries.timeline(1)
    assert any("late" in (e.text or "") for e in timeline if e.kind == "escalated")


async def test_a_second_scheduler_on_one_sqlite_database_is_refused(tmp_path):
    from storage import migrations

    url = f"sqlite:///{tmp_path / 'one.db'}"
    migrations.upgrade(url)
    first, second = (bootstrap.build(Settings(database_url=url), TocsinConfig(), SystemClock(),
                                     parts=bootstrap.Parts(escalation="ledger")) for _ in range(2))
    timers = [EscalationTimer(c.escalation) for c in (first, second)]
    await timers[0].start()
    try:
        with pytest.raises(SchedulerRefused, match="one scheduler per database"):
            await timers[1].start()
    finally:
        await timers[0].stop()
    await timers[1].start()  # released at stop: the next one may run
    await timers[1].stop()
    await first.close()
    await second.close()


async def test_the_sidecar_setup_keeps_the_ledger_without_running_a_scheduler(container, people, senders, clock):
    sidecar = bootstrap.build(container.settings, TocsinConfig(), clock, parts=bootstrap.SIDECAR, senders=senders)
    try:
        [surface] = [s for s in sidecar.surfaces if s.name == "escalation ledger"]
        assert surface.components == [] and surface.status.startswith("on") and sidecar.paging is None
        await sidecar.incidents.declare(people.slack("responder"), "From a webhook", team="payments")
        assert [r.status for r in await steps(container)] == ["PENDING"] * 3
    finally:
        await sidecar.close()
