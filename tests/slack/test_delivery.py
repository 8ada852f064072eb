"""Delivery under Slack's limits and failures: nothing lost, nothing twice, order kept, core never blocked."""

from __future__ import annotations

import asyncio
import time

from tests.fakes.slack_api import Fault


async def declared(slack, container, people):
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments",
                                      severity="critical")
    await slack.settle()
    return slack.card()


async def test_429_then_500s_then_success_delivers_every_message_once_in_order(slack, people, container, clock):
    card = await declared(slack, container, people)
    slack.fake.fail("chat.postMessage", Fault(429, retry_after=1), Fault(500), Fault(503))
    slack.fake.fail("chat.update", Fault(429, retry_after=1), Fault(500))
    for text in ("first", "second", "third"):
        clock.advance(seconds=1)
        await container.incidents.add_note(1, people.slack("responder"), text)
    clock.advance(seconds=1)
    await container.incidents.acknowledge(1, people.telegram("responder"))
    await slack.settle()

    lines = [m.text for m in slack.fake.thread(card)]
    assert lines == ["*Responder* (slack): first", "*Responder* (slack): second", "*Responder* (slack): third",
                     "Acknowledged by *Responder* (telegram)"]
    posts = slack.fake.calls_to("chat.postMessage")[1:]  # after the card itself
    assert [c.args["text"] for c in posts[:4]] == ["*Responder* (slack): first"] * 4  # 429, 500, 503, ok
    assert posts[1].at - posts[0].at >= 0.99  # Retry-After was honoured
    assert card.current["text"].endswith("(acknowledged)")


async def test_a_storm_of_changes_is_coalesced_and_nothing_is_dropped(slack, people, container, clock):
    card = await declared(slack, container, people)
    slack.fake.delay = 0.3  # a slow Slack: edits are in flight while the changes keep coming
    for i in range(8):
        clock.advance(seconds=1)
        await container.incidents.add_note(1, people.slack("responder"), f"note {i}")
    await container.incidents.change_severity(1, people.slack("incident_commander"), "low")
    await slack.settle()
    assert [m.text.rsplit(" ", 1)[-1] for m in slack.fake.thread(card)][:8] == [str(i) for i in range(8)]
    assert len(slack.fake.thread(card)) == 9
    assert 1 <= len(card.edits) <= 3  # 9 changes, a few edits
    assert card.current["text"] == "#1 [low] Checkout is down (open)"


async def test_posts_to_one_channel_are_paced(slack, people, container, clock):
    card = await declared(slack, container, people)
    for i in range(6):
        await container.incidents.add_note(1, people.slack("responder"), f"n{i}")
    await slack.settle()
    times = [c.at for c in slack.fake.calls_to("chat.postMessage")]
    assert len(times) == 7
    for a, b in zip(times, times[3:], strict=False):
        assert b - a >= 2.9  # at most 3 posts in any 3 seconds: about one per second
    assert len(slack.fake.thread(card)) == 6


async def test_a_slack_outage_never_blocks_the_core(slack, people, container, clock):
    card = await declared(slack, container, people)
    slack.fake.delay = 4.0  # every Slack answer now takes 4 seconds...
    slack.fake.fail("chat.postMessage", *[Fault(500)] * 3)  # ...and posts fail
    started = time.monotonic()
    await container.incidents.acknowledge(1, people.telegram("responder"))
    await container.incidents.add_note(1, people.telegram("responder"), "via telegram")
    assert time.monotonic() - started < 3.0  # waiting on Slack would take 4 s at least; room for a loaded machine
    assert (await container.queries.get(1)).status == "acknowledged"
    slack.fake.delay = 0.0
    await asyncio.wait_for(slack.settle(), 30)
    assert [m.text for m in slack.fake.thread(card)] == ["Acknowledged by *Responder* (telegram)",
                                                         "*Responder* (telegram): via telegram"]


async def test_a_gone_channel_is_logged_not_retried_forever(slack, people, container, caplog):
    card = await declared(slack, container, people)
    slack.fake.fail("chat.update", Fault(200, error="channel_not_found"))
    await container.incidents.acknowledge(1, people.slack("responder"))
    await slack.settle()
    assert len(slack.fake.calls_to("chat.update")) == 1
    assert "could not edit the card of #1" in caplog.text
    assert len(slack.fake.thread(card)) == 1


async def test_a_busy_channel_does_not_hold_up_another(slack, people, container):
    await declared(slack, container, people)
    out = slack.runtime.out

    async def burst(channel):
        for i in range(6):
            await out.call("chat.postMessage", channel=channel, text=f"{channel} {i}")

    started = time.monotonic()
    await asyncio.gather(burst("CONE"), burst("CTWO"))
    elapsed = time.monotonic() - started
    assert 2.5 < elapsed < 4.5  # each channel: 3 now, 3 a little under 3 s later; not 6 per channel in series
    assert [m.text for m in slack.fake.messages_in("CONE")] == [f"CONE {i}" for i in range(6)]
