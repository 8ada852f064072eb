"""Fixtures: the escalation engine wired as in production, with recording senders and no pacing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, update

from bot.bootstrap import Parts
from bot.container import Container
from bot.paging import Paging
from storage.clock import FakeClock
from storage.models import ChatIdentity, EscalationStep, Notification, Person
from tests.escalation.fakes import RecordingSender

#: What the escalation tests' container runs: the engine as in ``tocsin serve`` (its timer and dispatcher
#: driven by the tests, not started), and the HTTP routes (/metrics, the API) for the tests that call them.
ESCALATING = Parts(http=True, escalation="scheduler")


@pytest.fixture
def parts() -> Parts:
    return ESCALATING


@pytest.fixture
def fake_senders() -> dict[str, RecordingSender]:
    return {c: RecordingSender(c) for c in ("slack", "telegram", "email")}


@pytest.fixture
def senders(container: Container, fake_senders) -> dict[str, RecordingSender]:
    return fake_senders


@pytest.fixture
def paging(container: Container, senders) -> Paging:
    assert container.paging is not None
    container.paging.dispatcher.limits = {}
    return container.paging


@pytest.fixture
def tick(container: Container, clock: FakeClock, paging) -> Callable:
    """Move the fake clock, run what is due, let the surfaces hear of it, deliver the outbox."""

    async def run(**delta: float) -> int:
        clock.advance(**delta)
        ran = await paging.escalation.run_due()
        await container.bus.drain()
        await paging.dispatcher.drain()
        return ran

    return run


async def steps(container: Container, number: int = 1) -> list[EscalationStep]:
    from storage.models import Incident

    async with container.db.sessions() as session:
        incident_id = await session.scalar(select(Incident.id).where(Incident.number == number))
        rows = await session.scalars(select(EscalationStep).where(EscalationStep.incident_id == incident_id)
                                     .order_by(EscalationStep.repeat, EscalationStep.step))
        return list(rows)


async def notifications(container: Container, **where) -> list[Notification]:
    async with container.db.sessions() as session:
        query = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list(await session.scalars(query))


async def start_telegram(container: Container, clock: FakeClock, *emails: str) -> None:
    """Mark people as having started the Telegram bot (only then may it write to them)."""
    async with container.db.transaction() as session:
        await session.execute(update(ChatIdentity).where(
            ChatIdentity.platform == "telegram",
            ChatIdentity.person_id.in_(select(Person.id).where(Person.email.in_(emails)))).values(reachable_at=clock.now()))


async def use_policy(container: Container, name: str, after_seconds: list[int], channels=("slack",),
                     notify=("team_channel",), team: str = "payments") -> None:
    """Store a policy with short delays (as ``tocsin config apply`` would) and give it to ``team``."""
    from storage.models import EscalationPolicy, Team

    async with container.db.transaction() as session:
        session.add(EscalationPolicy(name=name, position=0, match={}, repeat=0, updated_at=container.clock.now(),
                                     steps={"steps": [{"after": s, "notify": list(notify), "channels": list(channels)}
                                                      for s in after_seconds]}))
        await session.execute(update(Team).where(Team.name == team).values(escalation_policy=name))


def ticker(container: Container, clock: FakeClock) -> Callable[..., Awaitable[int]]:
    """``await tick(minutes=5)``: move the clock, run the due escalation steps and deliver the outbox
    unpaced, as ``tocsin serve`` does beside a process that keeps only the ledger; the steps run."""
    from bot.platforms import CHATS
    from escalation.dispatcher import Dispatcher
    from escalation.engine import Escalation

    escalation = Escalation(container.incidents, container.senders, CHATS)
    dispatcher = Dispatcher(container.db, container.clock, container.senders)
    dispatcher.limits = {}

    async def run(**delta: float) -> int:
        clock.advance(**delta)
        ran = await escalation.run_due()
        await container.bus.drain()
        await dispatcher.drain()
        return ran

    return run


async def store_schedules(container: Container, *schedules) -> None:
    """Store on-call schedules as ``tocsin config apply`` does: in the applied config's document."""
    from bot.config_file import TocsinConfig, runtime_document
    from storage.models import ConfigState

    async with container.db.transaction() as session:
        await session.merge(ConfigState(id=1, generation=1, applied_at=container.clock.now(),
                                        document=runtime_document(TocsinConfig(schedules=tuple(schedules)))))
