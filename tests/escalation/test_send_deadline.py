"""The dispatcher's deadline for a send follows the sender's own timeout, and a send it cuts off is in doubt:
the real slack_sdk client against the fake Slack API (tests/fakes/slack_api.py), timeouts scaled down."""

from __future__ import annotations

import pytest

from bot.bootstrap import Parts
from bot.settings import Settings
from bot.slack.sender import SlackSender
from escalation.dispatcher import Dispatcher
from escalation.outbox import write
from escalation.plan import Planned
from tests.escalation.conftest import notifications
from tests.fakes.slack_api import FakeSlack, Fault
from tests.slack.conftest import fake_slack, slack, slack_settings  # noqa: F401  (fixtures)

TIMEOUT = 1.0  # seconds the Slack client waits for one answer (SLACK_TIMEOUT): 30 in production


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:  # noqa: F811
    return slack_settings(db_url, fake_slack, slack_timeout=TIMEOUT)


@pytest.fixture
def parts() -> Parts:
    return Parts(slack=True)


async def _page_the_team_lead(slack, container, people, clock) -> None:  # noqa: F811
    declared = await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    await slack.settle()
    async with container.db.transaction() as session:
        await write(session, declared.incident.id, "step:0:1", [Planned("role:team_lead", "slack", "UTEAM_LEAD")],
                    "You are paged", clock.now())


async def test_a_slack_answering_within_its_own_timeout_is_waited_for(slack, container, people, clock):  # noqa: F811
    await _page_the_team_lead(slack, container, people, clock)
    # Our old fixed deadline (scaled: 20 of 30 s) was shorter than the client's own timeout.
    dispatcher = Dispatcher(container.db, clock, container.senders, send_timeout=TIMEOUT * 2 / 3, limits={})
    slack.fake.fail("chat.postMessage", Fault(after=TIMEOUT * 5 / 6))  # posted, answered in 25 of 30 s
    await dispatcher.run_once()

    [page] = await notifications(container, kind="page")
    assert page.status == "SENT" and page.attempts == 1 and page.last_error is None
    assert len(slack.fake.messages_in("DUTEAM_LEAD")) == 1


async def test_a_send_cut_off_by_our_deadline_is_looked_for_before_it_is_sent_again(slack, container, people,  # noqa: F811
                                                                                    clock):
    await _page_the_team_lead(slack, container, people, clock)
    sender = container.senders["slack"]
    sender.timeout = TIMEOUT / 10  # stands for any send that outlives our deadline (a pacing wait, three calls)
    dispatcher = Dispatcher(container.db, clock, container.senders, send_timeout=TIMEOUT / 10, send_margin=0.0,
                            limits={})
    slack.fake.fail("chat.postMessage", Fault(after=TIMEOUT / 2))  # it takes effect; we stop waiting first
    await dispatcher.run_once()
    [page] = await notifications(container, kind="page")
    assert page.status == "PENDING" and page.last_error
    assert len(slack.fake.messages_in("DUTEAM_LEAD")) == 1

    # The next attempt, by another process whose sender knows nothing of that one: it asks Slack first.
    other = SlackSender(slack.runtime.out, container.db, container.clock)
    restarted = Dispatcher(container.db, clock, {"slack": other}, limits={})
    clock.advance(minutes=1)
    await restarted.run_once()
    assert len(slack.fake.messages_in("DUTEAM_LEAD")) == 1  # not posted twice
    [page] = await notifications(container, kind="page")
    assert page.status == "SENT" and "already delivered" in page.note and page.attempts == 2
