"""A channel that keeps failing: pages are retried while the incident is open, and after a while the
target is paged on their other channels and the team is told on its other surfaces (production defaults:
retries capped at 5 min, failover after 2 min; a fake clock)."""

from __future__ import annotations

import logging

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, select

from storage.models import ChatBinding, Team
from storage.ports import DeliveryError
from tests.escalation.conftest import notifications, start_telegram, use_policy

OUTAGE = [DeliveryError("slack answered 503")] * 1000


async def _slack_down_for_a_while(container, people, clock, senders, tick, outage=OUTAGE, **policy):
    await use_policy(container, "slack-first", [60], **policy)
    await container.incidents.declare(people.slack("responder"), "Checkout down", team=policy.get("team", "payments"))
    senders["slack"].fail_with = list(outage)
    await tick(seconds=60)
    for _ in range(5):
        await tick(seconds=30)


async def test_a_page_is_retried_until_slack_is_back_while_the_incident_is_open(container, people, clock, senders,
                                                                                  tick):
    await use_policy(container, "slack-first", [60])
    declared = await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    senders["slack"].fail_with = [DeliveryError("slack answered 503")] * 10
    await tick(seconds=60)
    for _ in range(45):  # 22.5 minutes of outage: ten attempts, the waits capped at 5 minutes
        await tick(seconds=30)
    [page] = await notifications(container, channel="slack", kind="page")
    assert page.status == "SENT" and page.attempts == 11
    assert [s.destination.address for s in senders["slack"].sent] == ["CPAYMENTS"]
    await container.incidents.acknowledge(declared.incident.number, people.slack("responder"))
    await tick(minutes=10)
    assert senders["slack"].attempts == 12  # the closing notice, once


async def test_slack_failing_for_two_minutes_pages_on_other_channels_and_tells_the_team(
        container, people, clock, senders, tick, caplog):
    await start_telegram(container, clock, "team_lead@example.com")
    caplog.set_level(logging.ERROR, logger="escalation.dispatcher")
    await _slack_down_for_a_while(container, people, clock, senders, tick, channels=("slack",),
                                  notify=("team_channel", "role:team_lead"))
    group = sorted(s.page.text for s in senders["telegram"].to("-100200"))
    assert len(group) == 2 and "Sent here because Slack has not delivered this page for 2m" in group[0]
    assert group[1].startswith("Slack is failing: a page for #1 Checkout down")
    assert len(senders["telegram"].to("1004")) == 1 and len(senders["email"].to("team_lead@example.com")) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all(e.startswith("slack has not delivered page") for e in errors)
    [lead] = [e for e in errors if " to person:" in e]
    assert "paged on email, telegram; team told on telegram" in lead

    for _ in range(4):  # still down: no second failover
        await tick(seconds=30)
    assert len(senders["telegram"].sent) == 3 and len(senders["email"].sent) == 1
    senders["slack"].fail_with = []
    await tick(minutes=5)
    assert sorted(s.destination.address for s in senders["slack"].sent) == ["CPAYMENTS", "UTEAM_LEAD"]
    assert {p.status for p in await notifications(container, kind="page")} == {"SENT"}


async def test_a_slack_only_team_is_paged_by_email_when_slack_fails(container, people, clock, senders, tick, caplog):
    caplog.set_level(logging.ERROR, logger="escalation.dispatcher")
    async with container.db.transaction() as session:
        await session.execute(delete(ChatBinding).where(ChatBinding.platform == "telegram", ChatBinding.team_id.in_(
            select(Team.id).where(Team.name == "payments"))))
    await _slack_down_for_a_while(container, people, clock, senders, tick, channels=("slack",))
    emailed = sorted(s.destination.address for s in senders["email"].sent)
    assert emailed == [f"{role}@example.com" for role in ("incident_commander", "manager", "responder", "team_lead")]
    assert "Sent here because Slack has not delivered this page" in senders["email"].sent[0].page.text
    assert senders["telegram"].sent == []  # nobody there has started the bot
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "paged on email" in error and "team told on no other surface" in error


async def test_the_error_line_quotes_no_url_or_token_from_the_senders_error(container, people, clock, senders,
                                                                             tick, caplog):
    caplog.set_level(logging.WARNING)
    token = "123456:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ra"
    failing = [DeliveryError(f"unreachable: POST https://api.example.com/bot{token}/sendMessage ({token})")] * 50
    await _slack_down_for_a_while(container, people, clock, senders, tick, outage=failing, channels=("slack",))
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert token not in caplog.text and "api.example.com" not in caplog.text


async def test_metrics_count_failovers_and_retries(container, people, clock, senders, tick):
    from tests.webhooks.support import client_for, configure, sidecar_app

    await _slack_down_for_a_while(container, people, clock, senders, tick, channels=("slack",))
    configure(container)
    async with client_for(sidecar_app(container), container) as http:
        response = await http.get("/metrics")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(response.text) for s in family.samples}
    assert samples[("notification_failovers_total", (("channel", "slack"),))] >= 1
    assert samples[("notifications_total", (("channel", "slack"), ("outcome", "retry")))] >= 5


async def test_when_slack_answers_again_every_waiting_page_goes_out_within_a_few_passes(container, people, clock,
                                                                                          senders, paging):
    from escalation.outbox import write
    from escalation.plan import Planned

    senders["slack"].fail_with = [DeliveryError("slack answered 503")] * 1000
    declared = await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    for i in range(6):  # pages queued a minute apart: their capped backoffs end at different times
        async with container.db.transaction() as session:
            await write(session, declared.incident.id, f"step:0:{i}", [Planned(f"person:{i}", "slack", f"U{i}")],
                        "page text", clock.now())
        for _ in range(6):
            await paging.dispatcher.drain()
            clock.advance(seconds=10)
    for _ in range(30):  # five more minutes of outage: every page waits out the 300 s cap
        await paging.dispatcher.drain()
        clock.advance(seconds=10)
    waits = [(p.next_attempt_at - clock.now()).total_seconds() for p in await notifications(container, kind="page")]
    assert max(waits) > 120  # without help, the last page would go out minutes after Slack is back

    senders["slack"].fail_with = []
    for _ in range(3):  # three passes of the dispatcher, 10 s apart
        await paging.dispatcher.drain()
        clock.advance(seconds=10)
    pages = await notifications(container, channel="slack", kind="page")
    assert [p.status for p in pages] == ["SENT"] * 6
    assert sorted(s.destination.address for s in senders["slack"].sent) == [f"U{i}" for i in range(6)]


async def test_pages_released_by_a_recovery_still_keep_their_destinations_pace(container, people, clock, senders,
                                                                                paging):
    from escalation.outbox import write
    from escalation.pacing import Limit
    from escalation.plan import Planned

    paging.dispatcher.limits = {"slack": lambda _address: (Limit("message", 1, 0.2),)}  # scaled from Slack's 1 a second
    senders["slack"].fail_with = [DeliveryError("slack answered 503")] * 1000
    declared = await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    for i in range(4):  # four pages to one DM, queued a minute apart
        async with container.db.transaction() as session:
            await write(session, declared.incident.id, f"step:0:{i}", [Planned("role:team_lead", "slack", "UTEAM_LEAD")],
                        "page text", clock.now())
        for _ in range(6):
            await paging.dispatcher.drain()
            clock.advance(seconds=10)
    senders["slack"].fail_with = []
    for _ in range(3):
        await paging.dispatcher.drain()
        clock.advance(seconds=10)
    sent = senders["slack"].to("UTEAM_LEAD")
    assert len(sent) == 4  # all released at once...
    assert all(b.at - a.at >= 0.2 - 0.01 for a, b in zip(sent, sent[1:], strict=False))  # ...and sent at its pace


async def test_one_failing_destination_is_not_retried_after_every_send_that_succeeds_beside_it(
        container, people, clock, senders, paging):
    from escalation.outbox import write
    from escalation.plan import Planned

    slack, refused = senders["slack"], []
    send = slack.send

    async def refuse_one_dm(destination, page):
        if destination.address == "UGONE":
            refused.append(clock.now())
            raise DeliveryError("slack answered 503")  # only this DM fails; the channel works
        return await send(destination, page)

    slack.send = refuse_one_dm
    declared = await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")

    async def page(reason: str, address: str) -> None:
        async with container.db.transaction() as session:
            await write(session, declared.incident.id, reason, [Planned(f"person:{address}", "slack", address)],
                        "page text", clock.now())

    await page("step:0:0", "UGONE")
    for _ in range(30):  # five minutes: its backoff reaches minutes
        await paging.dispatcher.drain()
        clock.advance(seconds=10)
    before = len(refused)
    for i in range(30):  # a minute of other pages going out every 2 s
        await page(f"step:1:{i}", f"U{i}")
        await paging.dispatcher.drain()
        clock.advance(seconds=2)
    retried = len(refused) - before
    assert len(slack.sent) == 30 and retried <= 60 / paging.dispatcher.probe_every + 1  # not one per success


async def test_a_page_fails_over_on_time_however_its_retries_were_spaced(container, people, clock, senders, paging):
    from escalation.outbox import write
    from escalation.plan import Planned

    senders["slack"].fail_with = [DeliveryError("slack answered 503")] * 1000
    declared = await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    for i, address in enumerate(["CPAYMENTS", "UTEAM_LEAD"]):  # the second page comes 100 s after the first
        async with container.db.transaction() as session:
            await write(session, declared.incident.id, f"step:0:{i}", [Planned(f"t{i}", "slack", address)],
                        "page text", clock.now())
        for _ in range(100):  # a pass a second, as the running dispatcher makes them
            await paging.dispatcher.run_once()
            clock.advance(seconds=1)
    for _ in range(30):
        await paging.dispatcher.run_once()
        clock.advance(seconds=1)
    first, second = await notifications(container, kind="page", channel="slack")
    # The probes went to the newer page; the first had backed off for minutes, and still failed over at 2 min.
    assert first.failed_over_at is not None
    assert (first.failed_over_at - first.created_at).total_seconds() <= paging.dispatcher.failover_after + 1
