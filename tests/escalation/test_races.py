"""Real concurrency on PostgreSQL: acknowledgements racing due steps, two claimers on one database."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import func, select

from bot import bootstrap
from bot.config_file import TocsinConfig
from bot.settings import Settings
from storage.models import EscalationStep, IncidentEvent, Notification


@pytest.fixture
def db_url(pg_url: str) -> str:
    """These tests need PostgreSQL's real concurrency."""
    return pg_url


def replica(pg_url, clock, senders):
    """Another process's view of the same database: its own engine, engine hook and dispatcher."""
    c = bootstrap.build(Settings(database_url=pg_url, scheduler=False), TocsinConfig(), clock,
                        parts=bootstrap.Parts(escalation="scheduler"), senders=senders)
    assert c.paging is not None
    c.paging.dispatcher.limits = {}
    return c, c.paging


async def test_an_acknowledgement_racing_a_due_step_pages_before_it_or_not_at_all(pg_url, clock, people,
                                                                                  container, paging, senders):
    count = 40
    for i in range(count):
        await container.incidents.declare(people.slack("responder"), f"Race {i}", team="payments")
    clock.advance(minutes=5)
    a, b = replica(pg_url, clock, senders), replica(pg_url, clock, senders)
    numbers = list(range(1, count + 1))
    random.Random(6).shuffle(numbers)

    async def acknowledge_all():
        for n in numbers:
            await b[0].incidents.acknowledge(n, people.slack("responder"))
            await asyncio.sleep(random.random() / 200)

    await asyncio.gather(a[1].escalation.run_due(), paging.escalation.run_due(), acknowledge_all(),
                         a[1].dispatcher.drain())
    await paging.dispatcher.drain()
    async with container.db.sessions() as session:
        steps = {s.incident_id: s for s in await session.scalars(select(EscalationStep).where(EscalationStep.step == 0))}
        pages = list(await session.scalars(select(Notification).where(Notification.kind == "page")))
        notices = list(await session.scalars(select(Notification).where(Notification.kind == "notice",
                                                                        Notification.reason.like("closing:%"))))
        events = list(await session.scalars(select(IncidentEvent).order_by(IncidentEvent.id)))
    executed = {i for i, s in steps.items() if s.status == "EXECUTED"}
    assert {s.status for s in steps.values()} <= {"EXECUTED", "CANCELLED"}
    assert 0 < len(executed) < count, "the race did not race; make it tighter"
    order = [(e.incident_id, e.kind) for e in events]
    for incident_id in executed:  # the step committed before the acknowledgement did
        assert order.index((incident_id, "escalated")) < order.index((incident_id, "acknowledged"))
    assert all(p.incident_id in executed for p in pages)  # a cancelled step wrote no pages
    sent = {(p.incident_id, p.target, p.channel) for p in pages if p.status == "SENT"}
    assert {p.status for p in pages} <= {"SENT", "CANCELLED"}
    # A page handed to a sender before the acknowledgement gets its closing notice; none is sent after.
    assert sent <= {(n.incident_id, n.target, n.channel) for n in notices}
    delivered = [s.page.key for sender in senders.values() for s in sender.sent if s.page.kind == "page"]
    assert len(delivered) == len(sent) == len(set(delivered))
    for c, _ in (a, b):
        await c.close()


async def test_two_claimers_run_every_step_exactly_once(pg_url, clock, people, container, paging, senders):
    for i in range(60):
        await container.incidents.declare(people.slack("responder"), f"Load {i}", team="payments")
    replicas = [replica(pg_url, clock, senders) for _ in range(3)]
    for minutes in (5, 10, 45):
        clock.advance(minutes=minutes)
        claimed = await asyncio.gather(*(built.escalation.run_due() for _, built in replicas))
        assert sum(claimed) >= 60
    async with container.db.sessions() as session:
        statuses = dict((await session.execute(select(EscalationStep.status, func.count())
                                               .group_by(EscalationStep.status))).all())
        escalated = await session.scalar(select(func.count()).select_from(IncidentEvent)
                                         .where(IncidentEvent.kind == "escalated"))
        duplicates = (await session.execute(select(Notification.incident_id, Notification.reason, Notification.target,
                                                   Notification.channel, func.count())
                                            .group_by(Notification.incident_id, Notification.reason,
                                                      Notification.target, Notification.channel)
                                            .having(func.count() > 1))).all()
    assert statuses == {"EXECUTED": 180} and escalated == 180 and duplicates == []
    for c, _ in replicas:
        await c.close()


async def test_a_change_in_another_process_wakes_the_scheduler_at_once(pg_url, people, container, paging):
    from escalation.wakeup import Listener

    woken = asyncio.Event()
    listener = Listener(pg_url, woken.set)
    await listener.start()
    try:
        await asyncio.wait_for(listener.listening.wait(), 5)
        woken.clear()
        await container.incidents.declare(people.slack("responder"), "Elsewhere", team="payments")
        await asyncio.wait_for(woken.wait(), 2)
    finally:
        await listener.stop()


async def test_escalating_by_hand_while_a_scheduler_pass_runs_answers_200(pg_url, people, container):
    """The hand escalation and the step job share one engine in ``tocsin serve``: a pass that starts or
    ends while a hand escalation reads its policy must not break that request."""
    from bot.app import create_app
    from tests.webhooks.support import API_TOKENS, client_for, configure

    configure(container)
    app = create_app(container, migrate=False)
    engine = container.escalation
    admin = {"Authorization": f"Bearer {API_TOKENS['admin']}"}
    rounds, answers = 40, []
    async with client_for(app, container) as http:
        for _ in range(rounds):
            hand = await container.incidents.declare(people.slack("admin"), "By hand", team="payments")

            async def scheduler_pass(wait=random.random() / 50):
                await asyncio.sleep(wait)
                return await engine.run_due()

            answer, _ = await asyncio.gather(
                http.post(f"/api/incidents/{hand.incident.number}/escalate", headers=admin), scheduler_pass())
            answers.append(answer.status_code)
    assert answers == [200] * rounds
