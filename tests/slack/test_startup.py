"""Start-up: one clear line when Slack cannot be used, never a traceback, and the rest keeps running."""

from __future__ import annotations

import logging

import pytest

from bot import bootstrap
from bot.app import create_app
from bot.config_file import TocsinConfig
from bot.settings import Settings
from tests.asgi import served
from tests.slack.conftest import slack_settings

SLACK = bootstrap.Parts(slack=True)


@pytest.mark.parametrize("overrides,status", [
    ({"slack_bot_token": None}, "off (SLACK_BOT_TOKEN not set)"),
    ({"slack_bot_token": "xoxp-user-token"}, "off (SLACK_BOT_TOKEN must be a bot token (xoxb-...))"),
    ({"slack_signing_secret": None}, "off (set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode))"),
    ({"slack_app_token": "xoxb-wrong-kind"}, "off (SLACK_APP_TOKEN must be an app-level token"),
])
def test_missing_or_malformed_settings_switch_slack_off_with_a_reason(db_url, fake_slack, overrides, status):
    container = bootstrap.build(slack_settings(db_url, fake_slack, **overrides), TocsinConfig(), parts=SLACK)
    [surface] = container.surfaces
    assert surface.status.startswith(status) and not surface.routes and "slack" not in container.senders
    assert container.slack is None and not container.bus.observed


async def test_a_rejected_token_gives_one_line_and_the_app_still_serves(db_url, fake_slack, caplog):
    settings = slack_settings(db_url, fake_slack, slack_bot_token="xoxb-invalid")
    container = bootstrap.build(settings, TocsinConfig(), parts=bootstrap.Parts(http=True, slack=True))
    app = create_app(container, migrate=False)
    with caplog.at_level(logging.INFO):
        async with served(app) as http:
            [surface] = [s for s in container.surfaces if s.name == "slack"]
            assert surface.status == "off (Slack refused SLACK_BOT_TOKEN: invalid_auth)"
            assert (await http.get("/healthz")).status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["slack: Slack refused SLACK_BOT_TOKEN: invalid_auth"]
    assert not any(r.exc_info for r in caplog.records)


async def test_http_mode_is_on_with_its_route(db_url, fake_slack):
    container = bootstrap.build(slack_settings(db_url, fake_slack), TocsinConfig(), parts=SLACK)
    [surface] = container.surfaces
    assert surface.status == "on (HTTP mode at POST /slack/events)"
    assert [r.path for r in surface.routes] == ["/slack/events"]
    assert container.senders["slack"].channel == "slack"


async def test_socket_mode_has_no_http_route(db_url, fake_slack):
    settings = Settings(**{**slack_settings(db_url, fake_slack).__dict__, "slack_app_token": "xapp-1-test",
                           "slack_signing_secret": None})
    [surface] = bootstrap.build(settings, TocsinConfig(), parts=SLACK).surfaces
    assert surface.status == "on (Socket Mode)" and surface.routes == []


async def test_a_refused_app_token_gives_one_line(db_url, fake_slack, caplog):
    settings = Settings(**{**slack_settings(db_url, fake_slack).__dict__, "slack_app_token": "xapp-invalid",
                           "slack_signing_secret": None})
    container = bootstrap.build(settings, TocsinConfig(), parts=SLACK)
    app = create_app(container, migrate=False)
    async with app.router.lifespan_context(app):
        [surface] = container.surfaces
        assert surface.status == "off (Slack refused SLACK_APP_TOKEN: invalid_auth)"
    assert fake_slack.calls_to("apps.connections.open")[0].token == "xapp-invalid"
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("bot."))
