"""container.senders["slack"]: the escalation engine's way to DM people and post to channels."""

from __future__ import annotations

import pytest

from storage.ports import DeliveryError, Destination, Page
from tests.fakes.slack_api import Fault


async def incident(container, people):
    result = await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments")
    return result.incident


async def test_a_page_to_a_user_opens_a_dm_and_carries_the_live_card(slack, people, container):
    view = await incident(container, people)
    sender = container.senders["slack"]
    delivery = await sender.send(Destination("slack", "UTEAM_LEAD", person_id=people.ids["team_lead"]),
                                 Page(view, "escalation level 1", "You are paged: #1 Checkout is down"))
    [open_call] = slack.fake.calls_to("conversations.open")
    assert open_call.args["users"] == "UTEAM_LEAD"
    dm = slack.fake.find("DUTEAM_LEAD", delivery.reference)
    assert dm.text == "You are paged: #1 Checkout is down"
    assert any(b["type"] == "actions" for b in dm.blocks)
    assert delivery.thread == delivery.reference
    await slack.settle()
    await container.incidents.acknowledge(1, people.slack("team_lead"))
    await slack.settle()
    assert dm.current["text"].endswith("(acknowledged)")


async def test_a_reply_in_a_thread_is_text_only_and_not_tracked(slack, people, container):
    view = await incident(container, people)
    await slack.settle()
    card = slack.card()
    delivery = await container.senders["slack"].send(Destination("slack", "CPAYMENTS", thread=card.ts),
                                                     Page(view, "escalation", "Paging the team lead", kind="notice"))
    reply = slack.fake.find("CPAYMENTS", delivery.reference)
    assert reply.thread_ts == card.ts and not any(b["type"] == "actions" for b in reply.blocks)
    assert delivery.thread == card.ts
    assert slack.fake.calls_to("conversations.open") == []


async def test_a_429_raises_delivery_error_with_retry_after(slack, people, container):
    view = await incident(container, people)
    slack.fake.fail("chat.postMessage", Fault(429, retry_after=7))
    with pytest.raises(DeliveryError) as raised:
        await container.senders["slack"].send(Destination("slack", "CPLATFORM"), Page(view, "x", "hello"))
    assert raised.value.retry_after == 7 and not raised.value.permanent


async def test_an_unknown_channel_is_a_permanent_failure(slack, people, container):
    view = await incident(container, people)
    slack.fake.fail("chat.postMessage", Fault(200, error="channel_not_found"))
    with pytest.raises(DeliveryError) as raised:
        await container.senders["slack"].send(Destination("slack", "CGONE"), Page(view, "x", "hello"))
    assert raised.value.permanent


async def test_a_500_is_a_retryable_failure(slack, people, container):
    view = await incident(container, people)
    slack.fake.fail("chat.postMessage", Fault(500))
    with pytest.raises(DeliveryError) as raised:
        await container.senders["slack"].send(Destination("slack", "CPLATFORM"), Page(view, "x", "hello"))
    assert not raised.value.permanent and raised.value.retry_after is None


async def test_a_page_to_the_channel_of_the_card_goes_under_the_card(slack, people, container):
    view = await incident(container, people)
    await slack.settle()
    card = slack.card()
    delivery = await container.senders["slack"].send(Destination("slack", "CPAYMENTS"),
                                                     Page(view, "escalation", "Paging #payments: #1 is open"))
    reply = slack.fake.find("CPAYMENTS", delivery.reference)
    assert reply.thread_ts == card.ts and delivery.thread == card.ts
    assert slack.fake.calls_to("chat.postMessage")[-1].args["reply_broadcast"] is True
    assert len(slack.fake.messages_in("CPAYMENTS")) == 1  # no second card in the same channel
