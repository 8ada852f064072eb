"""Cards of incidents born from alerts, through the webhook as the sender posts them: what the alerts tell a
responder (the description, the sender's links) is on the Slack card the fake Slack API received."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest

from bot.app import create_app
from bot.bootstrap import Parts
from tests.asgi import served
from tests.chat.conftest import shown_text
from tests.slack.conftest import SlackHarness
from tests.slack.test_storm import alert_group
from tests.webhooks.support import AM, configure
from tests.webhooks.test_sources import GRAFANA_AUTH, GRAFANA_FIRING


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, slack=True)


@pytest.fixture
async def slack(container, fake_slack, people) -> AsyncIterator[SlackHarness]:
    configure(container)
    async with served(create_app(container, migrate=False)) as http:
        yield SlackHarness(http, fake_slack, container)


async def card(slack: SlackHarness) -> str:
    await slack.runtime.idle()
    [message] = slack.fake.messages_in("CPAYMENTS")
    return shown_text(message.current)


async def test_a_grafana_card_shows_the_description_and_the_silence_panel_and_dashboard_links(slack):
    body = copy.deepcopy(GRAFANA_FIRING)
    body["alerts"][0]["annotations"]["description"] = "web1 has been above 90% CPU for 5 minutes & climbing"
    assert (await slack.http.post("/webhooks/alertmanager", json=body, headers=GRAFANA_AUTH)).status_code == 200
    shown = await card(slack)
    assert "#1 CPU above 90% on web1" in shown
    assert "\nweb1 has been above 90% CPU for 5 minutes &amp; climbing\n" in shown
    assert ("<http://grafana.local/d/abc|Dashboard> | <http://grafana.local/d/abc?viewPanel=2|Panel> | "
            "<http://grafana.local/alerting/silence/new|Silence> | "
            "<http://grafana.local/alerting/grafana/abc/view?orgId=1|Source>") in shown


async def test_an_alertmanager_card_links_to_the_alertmanager_that_sent_it(slack):
    assert (await slack.http.post("/webhooks/alertmanager", json=alert_group(1), headers=AM)).status_code == 200
    assert "<http://127.0.0.1:9093|Alertmanager>" in await card(slack)
