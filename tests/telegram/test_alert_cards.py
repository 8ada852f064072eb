"""Cards of incidents born from alerts, through the webhook as the sender posts them: what the alerts
tell a responder (the description, the sender's links) is on the Telegram card."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.bootstrap import Parts
from tests.slack.test_storm import alert_group
from tests.telegram.harness import GROUP
from tests.webhooks.support import AM, client_for, configure, sidecar_app
from tests.webhooks.test_sources import GRAFANA_AUTH, GRAFANA_FIRING


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, telegram=True)


@pytest.fixture
async def webhooks(container, bot) -> AsyncIterator[httpx.AsyncClient]:
    configure(container)
    async with client_for(sidecar_app(container), container) as http:
        yield http


async def test_a_grafana_card_shows_the_description_and_the_silence_panel_and_dashboard_links(bot, webhooks):
    body = copy.deepcopy(GRAFANA_FIRING)
    body["alerts"][0]["annotations"]["description"] = "  web1 has been above 90% CPU for 5 minutes\n"
    assert (await webhooks.post("/webhooks/alertmanager", json=body, headers=GRAFANA_AUTH)).status_code == 200
    await bot.runtime.drain()
    card = bot.tg.last_message(GROUP)
    assert "Incident #1: CPU above 90% on web1" in card.text
    assert "\nweb1 has been above 90% CPU for 5 minutes\n" in card.text
    for url, label in (("http://grafana.local/d/abc", "Dashboard"), ("http://grafana.local/d/abc?viewPanel=2", "Panel"),
                       ("http://grafana.local/alerting/silence/new", "Silence"),
                       ("http://grafana.local/alerting/grafana/abc/view?orgId=1", "Source")):
        assert f'<a href="{url}">{label}</a>' in card.html, label
    assert ">Alertmanager</a>" not in card.html  # Grafana's externalURL is Grafana itself, not an Alertmanager


async def test_an_alertmanager_card_links_to_the_alertmanager_that_sent_it(bot, webhooks):
    assert (await webhooks.post("/webhooks/alertmanager", json=alert_group(1), headers=AM)).status_code == 200
    await bot.runtime.drain()
    assert '<a href="http://127.0.0.1:9093">Alertmanager</a>' in bot.tg.last_message(GROUP).html
