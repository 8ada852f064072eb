"""Storm coalescing on Slack (issue 16, item 4): a burst of new incidents in one team gives one summary card,
edited as the burst goes on, instead of a card per incident; cards resume after a quiet minute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import create_app
from bot.bootstrap import Parts
from bot.chat.storm import Storms
from bot.config_file import StormConfig
from bot.slack.cards import SlackCards
from tests.asgi import served
from tests.slack.conftest import SlackHarness
from tests.webhooks.support import AM, configure


@pytest.fixture
def parts() -> Parts:
    """Slack and the HTTP surfaces (webhooks, API), as ``tocsin serve`` has them."""
    return Parts(http=True, slack=True)


@pytest.fixture
async def slack(container, fake_slack, people) -> AsyncIterator[SlackHarness]:
    """The Slack app with the webhook integrations of the test config (alerts of service checkout: payments)."""
    configure(container)
    async with served(create_app(container, migrate=False)) as http:
        yield SlackHarness(http, fake_slack, container)


def alert_group(i: int) -> dict:
    labels = {"alertname": f"DiskFull{i}", "service": "checkout", "instance": f"web{i}:9100", "severity": "warning"}
    alert = {"status": "firing", "labels": labels, "annotations": {"summary": f"Disk full on web{i}"},
             "startsAt": "2026-11-22T11:13:49.213Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"f{i:015x}"}
    return {"receiver": "bot", "status": "firing", "alerts": [alert], "groupLabels": labels, "commonLabels": labels,
            "commonAnnotations": alert["annotations"], "externalURL": "http://127.0.0.1:9093", "version": "4",
            "groupKey": f'{{}}:{{alertname="DiskFull{i}"}}', "truncatedAlerts": 0}


async def fire(slack, clock, numbers, *, every: float = 4.0) -> None:
    for i in numbers:
        response = await slack.http.post("/webhooks/alertmanager", json=alert_group(i), headers=AM)
        assert response.status_code == 200, response.text
        clock.advance(seconds=every)
    await slack.settle()


def storm_rule(container, **values) -> None:
    configure(container, storm={"update_every": 1, **values})


async def test_twelve_new_incidents_in_a_minute_give_five_cards_and_one_summary(slack, people, container, clock):
    storm_rule(container)
    await fire(slack, clock, range(12))

    messages = slack.fake.messages_in("CPAYMENTS")
    assert len(messages) == 6  # the first five have their card; the sixth starts the storm
    summary = messages[5]
    assert summary.current["text"].startswith(
        "Storm: 12 new incidents in payments in the last minute, 7 of them without a card of their own: "
        "#6 Disk full on web5, #7 Disk full on web6")
    assert summary.current["text"].endswith("... and 2 more (/incident show N posts one's card)")
    assert 1 <= len(summary.edits) <= 6  # rate-limited: not one edit per incident
    posts = slack.fake.calls_to("chat.postMessage")
    assert len(posts) == 6
    response = await slack.http.get("/api/incidents", headers={"Authorization": "Bearer api-admin-role-token"})
    assert response.status_code == 200 and response.json()["total"] == 12  # every incident still exists


async def test_cards_resume_after_a_quiet_minute(slack, people, container, clock):
    storm_rule(container)
    await fire(slack, clock, range(8), every=1)
    clock.advance(seconds=61)
    await fire(slack, clock, [100])
    messages = slack.fake.messages_in("CPAYMENTS")
    assert len(messages) == 7  # five cards, the summary, then #9's own card
    assert messages[-1].current["text"].startswith("#9 ")
    assert messages[5].current["text"].startswith("Storm: 8 new incidents")


async def test_a_team_rule_raises_the_threshold_for_that_team_only(slack, people, container, clock):
    configure(container, teams=[{"name": "payments", "storm": {"threshold": 20}}, {"name": "platform"}],
              storm={"update_every": 1})
    await fire(slack, clock, range(12), every=1)
    assert len(slack.fake.messages_in("CPAYMENTS")) == 12
    assert not any(m.current["text"].startswith("Storm") for m in slack.fake.messages_in("CPAYMENTS"))


async def test_two_processes_post_one_summary(slack, people, container, clock):
    """A second process (its own Storms over the same database) sees the same storm and claims the same card."""
    storm_rule(container)
    await fire(slack, clock, range(7), every=1)
    other = Storms(SlackCards(slack.runtime.cards.channel.out), container.db, clock,
                   lambda team: StormConfig(update_every=1))
    for number in (6, 7):
        view = await container.queries.get(number)
        assert await other.absorb(view, slack.runtime.cards.channel.home(view))
    await other.drain()
    texts = [m.current["text"] for m in slack.fake.messages_in("CPAYMENTS")]
    assert sum(t.startswith("Storm") for t in texts) == 1
    assert len(texts) == 6


async def test_a_storm_outside_the_window_is_not_a_storm(slack, people, container, clock):
    storm_rule(container, threshold=5, window=60)
    await fire(slack, clock, range(8), every=timedelta(seconds=13).total_seconds())  # 5 per minute at most
    assert len(slack.fake.messages_in("CPAYMENTS")) == 8
