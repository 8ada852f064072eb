"""One card per incident and channel, whatever Slack does: slow answers to posts that took effect, answers
slower than the client waits, an outage longer than the retries. Item 7, 9 and 10 of issue 11."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.slack.sender import SlackSender
from storage.ports import DeliveryError, Destination, Page
from tests.fakes.slack_api import FakeSlack, Fault
from tests.slack.conftest import slack_settings

TIMEOUT = 0.3  # seconds the client waits for Slack (SLACK_TIMEOUT): scaled down from 30 to keep this fast


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return slack_settings(db_url, fake_slack, slack_timeout=TIMEOUT)


@pytest.fixture
def quick(slack):
    """Retries that give up in a second or two instead of minutes (the shape of the backoff is unchanged)."""
    out = slack.runtime.out
    out.max_attempts, out.backoff, out.max_backoff = 4, 0.02, 0.1
    return slack


async def declare(slack, container, people):
    await container.incidents.declare(people.slack("responder"), "Checkout is down", team="payments")
    await slack.settle()


async def acknowledge(slack, container, people):
    await container.incidents.acknowledge(1, people.slack("responder"))
    await slack.settle()


async def test_a_post_that_took_effect_but_answered_too_late_is_not_posted_again(quick, people, container):
    quick.fake.fail("chat.postMessage", Fault(after=TIMEOUT * 3))
    await declare(quick, container, people)

    [card] = quick.fake.messages_in("CPAYMENTS")
    await acknowledge(quick, container, people)
    assert card.current["text"] == "#1 [medium] Checkout is down (acknowledged)"  # the one card is live


async def test_a_slack_slower_than_the_client_waits_gets_one_card_once_it_answers(quick, people, container):
    cards = quick.runtime.cards
    mark = await cards.sweep(None)
    quick.fake.lag = TIMEOUT * 3  # every method takes effect, and answers after the client gave up
    await declare(quick, container, people)
    quick.fake.lag = 0.0
    await cards.sweep(mark)  # the periodic catch-up, once Slack answers in time again
    await quick.settle()

    [card] = quick.fake.messages_in("CPAYMENTS")
    await acknowledge(quick, container, people)
    assert card.current["text"].endswith("(acknowledged)")


async def test_a_thread_line_that_went_out_unanswered_is_posted_once(quick, people, container):
    await declare(quick, container, people)
    [card] = quick.fake.messages_in("CPAYMENTS")
    quick.fake.fail("chat.postMessage", Fault(after=TIMEOUT * 3))
    await container.incidents.add_note(1, people.slack("responder"), "rolled back")
    await quick.settle()
    assert [m.text for m in quick.fake.thread(card)] == ["*Responder* (slack): rolled back"]


async def test_a_page_that_went_out_unanswered_is_not_sent_again(quick, people, container):
    await declare(quick, container, people)
    page = Page(await container.queries.get(1), "escalation", "You are paged for #1", key="tocsin-notification-7")
    lead, sender = Destination("slack", "UTEAM_LEAD"), container.senders["slack"]
    quick.fake.fail("chat.postMessage", Fault(after=TIMEOUT * 3))
    with pytest.raises(DeliveryError):
        await sender.send(lead, page)
    delivery = await sender.send(lead, page)  # the dispatcher's next attempt at the same notification

    [dm] = quick.fake.messages_in("DUTEAM_LEAD")
    assert delivery.reference == dm.ts
    await acknowledge(quick, container, people)
    assert dm.current["text"].endswith("(acknowledged)")  # the one DM is live


async def test_another_process_finds_a_page_sent_before_a_crash(quick, people, container):
    await declare(quick, container, people)
    page = Page(await container.queries.get(1), "escalation", "You are paged for #1", key="tocsin-notification-8")
    lead = Destination("slack", "UTEAM_LEAD")
    sent = await container.senders["slack"].send(lead, page)
    other = SlackSender(quick.runtime.out, container.db, container.clock)  # knows nothing of that attempt

    found = await other.find(lead, page)
    assert (found.reference, found.thread) == (sent.reference, sent.thread)
    assert await other.find(lead, Page(page.incident, "escalation", "x", key="tocsin-notification-9")) is None
