"""The outbox dispatcher: pacing per destination, backoff honouring Retry-After, channel isolation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from escalation.dispatcher import Dispatcher
from escalation.outbox import write
from escalation.pacing import Limit
from escalation.plan import Planned
from storage.models import Notification
from storage.ports import DeliveryError
from tests.escalation.conftest import notifications
from tests.escalation.fakes import CheckingRecordingSender, RecordingSender


async def _until(condition, guard: float = 30.0) -> None:
    """Wait for ``condition``; ``guard`` only ends a wait that would never end (not a speed bound)."""
    deadline = asyncio.get_running_loop().time() + guard
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.02)


async def queue(container, people, clock, planned, reason="step:0:0"):
    result = await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    async with container.db.transaction() as session:
        await write(session, result.incident.id, reason, planned, "page text", clock.now())
    return result.incident.id


async def test_retry_backs_off_and_honours_retry_after(container, people, clock, senders, paging):
    dispatcher = Dispatcher(container.db, clock, senders, monotonic=lambda: clock.now().timestamp())
    await queue(container, people, clock, [Planned("team_channel", "slack", "CPAYMENTS")])
    senders["slack"].fail_with = [DeliveryError("ratelimited", retry_after=30), DeliveryError("boom")]
    await dispatcher.run_once()
    [row] = await notifications(container)
    assert row.status == "PENDING" and row.attempts == 1 and row.last_error == "ratelimited"
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert await dispatcher.run_once() == 0  # not before Retry-After
    clock.advance(seconds=30)
    await dispatcher.run_once()
    [row] = await notifications(container)
    assert row.attempts == 2 and row.last_error == "boom" and row.next_attempt_at == clock.now() + timedelta(seconds=4)
    clock.advance(seconds=4)
    await dispatcher.run_once()
    [row] = await notifications(container)
    assert row.status == "SENT" and row.attempts == 3 and row.reference == "slack-1" and row.last_error is None


async def test_a_permanent_failure_fails_a_page_and_exhausted_attempts_fail_only_a_notice(container, people, clock,
                                                                                           senders, paging):
    paging.dispatcher.max_attempts = 2
    incident_id = await queue(container, people, clock, [Planned("person:1", "telegram", "1000", 1)])
    async with container.db.transaction() as session:
        await write(session, incident_id, "overdue:0:0", [Planned("person:1", "email", "a@example.com", 1)],
                    "notice text", clock.now(), kind="notice")
    senders["telegram"].fail_with = [DeliveryError("timeout"), DeliveryError("timeout")]
    senders["email"].fail_with = [DeliveryError("timeout"), DeliveryError("timeout")]
    for _ in range(3):
        await paging.dispatcher.run_once()
        clock.advance(seconds=10)
    rows = {r.channel: r for r in await notifications(container)}
    assert rows["telegram"].status == "SENT" and rows["telegram"].attempts == 3  # a page: retried while open
    assert rows["email"].status == "FAILED" and rows["email"].attempts == 2
    await queue(container, people, clock, [Planned("team_channel", "slack", "CPAYMENTS")])
    senders["slack"].fail_with = [DeliveryError("channel_not_found", permanent=True)]
    await paging.dispatcher.run_once()
    [slack] = await notifications(container, channel="slack")
    assert slack.status == "FAILED" and slack.attempts == 1


async def test_pacing_is_per_destination(container, people, clock, senders, paging):
    dispatcher = Dispatcher(container.db, clock, container.senders, limits={"slack": lambda _address: (Limit("message", 1, 0.5),)})
    planned = [Planned(f"person:{i}", "slack", f"U{i}", i) for i in (1, 2, 3)]
    await queue(container, people, clock, planned, "step:0:0")
    await queue(container, people, clock, [Planned("person:1", "slack", "U1", 1)], "step:0:1")
    await dispatcher.drain()
    sent = senders["slack"].sent
    order = [s.destination.address for s in sent]
    assert sorted(order) == ["U1", "U1", "U2", "U3"]
    second = len(order) - 1 - order[::-1].index("U1")
    assert {"U2", "U3"} <= set(order[:second])  # U2 and U3 did not wait for U1's pace
    first, last = (s.at for s in sent if s.destination.address == "U1")
    assert last - first >= 0.5 - 0.01  # U1's second message waited its pace (clock granularity aside)


async def test_a_slow_channel_never_delays_the_others(container, people, clock, paging):
    slow = RecordingSender("telegram")
    slow.gate = asyncio.Event()  # Telegram answers only once Slack has been sent
    fast = RecordingSender("slack")
    dispatcher = Dispatcher(container.db, clock, {"slack": fast, "telegram": slow}, limits={})
    await queue(container, people, clock, [Planned("team_channel", "telegram", "-100200"),
                                           Planned("team_channel", "slack", "CPAYMENTS")])
    await dispatcher.start()
    try:
        dispatcher.kick()
        await _until(lambda: fast.sent)  # Slack held behind Telegram would never be sent: the guard fails it
        assert slow.attempts == 1 and not slow.sent  # Telegram's send was under way, not finished
        slow.gate.set()
        await _until(lambda: slow.sent)
    finally:
        await dispatcher.stop()


async def test_an_interrupted_send_is_not_repeated_where_the_platform_can_check(container, people, clock, paging):
    checking = CheckingRecordingSender("slack")
    dispatcher = Dispatcher(container.db, clock, {"slack": checking}, limits={}, lease=60)
    await queue(container, people, clock, [Planned("team_channel", "slack", "CPAYMENTS")])
    [job] = await dispatcher.claim()
    await checking.send(job.destination, __import__("storage.ports", fromlist=["Page"]).Page(
        None, job.reason, job.message, key=f"tocsin-notification-{job.id}"))  # sent, then the process died
    restarted = Dispatcher(container.db, clock, {"slack": checking}, limits={}, lease=60)
    assert await restarted.run_once() == 0  # the lease holds it
    clock.advance(seconds=61)
    await restarted.run_once()
    [row] = await notifications(container)
    assert row.status == "SENT" and "already delivered" in row.note and row.attempts == 2
    assert len(checking.sent) == 1


async def test_unsent_pages_are_cancelled_by_an_acknowledgement(container, people, clock, senders, paging):
    incident_id = await queue(container, people, clock, [Planned("team_channel", "slack", "CPAYMENTS"),
                                                         Planned("person:2", "slack", "U2", 2)])
    async with container.db.transaction() as session:  # one page is in a sender's hands already
        await session.execute(update(Notification).where(Notification.address == "U2", Notification.incident_id ==
                                                         incident_id).values(claimed_at=clock.now()))
    await container.incidents.acknowledge(1, people.slack("responder"))
    rows = {r.address: r for r in await notifications(container, kind="page")}
    assert rows["CPAYMENTS"].status == "CANCELLED" and rows["U2"].status == "PENDING"
    [notice] = await notifications(container, kind="notice")
    assert notice.address == "U2" and notice.parent_id == rows["U2"].id


async def test_a_page_in_the_dispatchers_hands_when_the_incident_is_acknowledged_is_not_sent(
        container, people, clock, senders, paging):
    declared = await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    clock.advance(minutes=5)
    assert await paging.escalation.run_due() == 1
    jobs = await paging.dispatcher.claim()  # claimed: the acknowledgement can no longer cancel them
    assert {job.channel for job in jobs} == {"slack", "telegram"}
    await container.incidents.acknowledge(declared.incident.number, people.slack("responder"))
    await asyncio.gather(*(paging.dispatcher.deliver(job) for job in jobs))
    await paging.dispatcher.drain()
    assert senders["slack"].sent == [] and senders["telegram"].sent == []
    pages = await notifications(container, kind="page")
    assert {p.status for p in pages} == {"CANCELLED"}
    assert {p.note for p in pages} == {"incident acknowledged before it was sent"}
    assert {n.status for n in await notifications(container, kind="notice")} <= {"CANCELLED"}
