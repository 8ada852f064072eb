"""The Bolt app: HTTP mode at ``POST /slack/events`` on our Starlette app, or Socket Mode."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.chat.receipts import Receipts
from bot.container import Container
from bot.slack import listeners
from bot.slack.cards import card_sync
from bot.slack.identity import SlackIdentity
from bot.slack.outbound import TRANSIENT, SlackOut
from bot.slack.runtime import SlackRuntime, remember_delivery
from bot.surface import Surface

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
START_TIMEOUT = 10.0


def api_base(url: str) -> str:
    """slack_sdk joins method names with urljoin: the base needs its trailing slash."""
    return url if url.endswith("/") else url + "/"


def build(container: Container) -> tuple[AsyncApp, SlackRuntime]:
    """The Bolt app and the runtime its listeners share; the Web API base URL comes from SLACK_API_URL."""
    settings = container.settings
    def client(**options: Any) -> AsyncWebClient:
        return AsyncWebClient(token=settings.slack_bot_token, base_url=api_base(settings.slack_api_url),
                              timeout=max(1, int(settings.slack_timeout)), **options)

    # Ours gets a shared HTTP session at start; Bolt deep-copies its own client. No SDK retries in ours:
    # they re-send a post after a connection reset without asking whether it took effect; SlackOut decides.
    out = SlackOut(client(retry_handlers=[]))
    runtime = SlackRuntime(container, out, SlackIdentity(container.db, out, container.clock),
                           card_sync(out, container.db, container.queries, container.clock,
                                     lambda team: container.config.storm_rule(team)),
                           Receipts("slack", container.db, container.clock))
    http_mode = not settings.slack_app_token
    app = AsyncApp(client=client(), signing_secret=settings.slack_signing_secret or "",
                   # Ack inline and run the work as lazy listeners: with process_before_response=False
                   # Bolt polls for the ack every 10 ms, which adds ~10 ms to every answer.
                   request_verification_enabled=http_mode, process_before_response=True,
                   ssl_check_enabled=http_mode)

    @app.middleware
    async def remember_workspace(context: Any, next: Any) -> None:
        result = context.authorize_result
        if runtime.team_id is None and result is not None and result.team_id:
            runtime.team_id = result.team_id
        await next()

    app.middleware(remember_delivery)  # a failed lazy listener is kept with the body it served
    listeners.register(app, runtime)
    return app, runtime


def route(app: AsyncApp) -> Route:
    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        """Commands, button presses and events from Slack (HTTP mode); Bolt checks the signature."""
        return await handler.handle(request)

    return Route(EVENTS_PATH, slack_events, methods=["POST"])


class SlackConnection:
    """Checks the bot token at start-up (one clear line if Slack refuses it) and runs Socket Mode."""

    def __init__(self, app: AsyncApp, runtime: SlackRuntime, surface: Surface, app_token: str | None) -> None:
        self.app, self.runtime, self.surface, self.app_token = app, runtime, surface, app_token
        self._socket: Any = None

    async def start(self) -> None:
        # One connection pool for every Web API call (the SDK opens a session per call otherwise).
        timeout = aiohttp.ClientTimeout(total=self.runtime.container.settings.slack_timeout)
        self.runtime.out.client.session = aiohttp.ClientSession(timeout=timeout)
        if not await self._check_token():
            return
        if self.app_token:
            await self._connect_socket()

    async def _check_token(self) -> bool:
        try:
            data = await asyncio.wait_for(self.runtime.out.client.auth_test(), START_TIMEOUT)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            self._off(f"Slack refused SLACK_BOT_TOKEN: {data.get('error') or exc.response.status_code}")
            return False
        except TRANSIENT as exc:
            self.surface.status = f"on, but Slack is unreachable ({type(exc).__name__}); will retry on use"
            log.warning("slack: %s", self.surface.status)
            return True
        self.runtime.team_id = data.get("team_id")
        log.info("slack: connected to workspace %s as %s", data.get("team"), data.get("user"))
        return True

    async def _connect_socket(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        try:  # the socket client retries a refused token forever; ask once ourselves first
            await asyncio.wait_for(self.runtime.out.client.apps_connections_open(app_token=self.app_token),
                                   START_TIMEOUT)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            self._off(f"Slack refused SLACK_APP_TOKEN: {data.get('error') or exc.response.status_code}")
            return
        try:
            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            await asyncio.wait_for(self._socket.connect_async(), START_TIMEOUT)
        except Exception as exc:  # no route to Slack: one line, not a traceback
            self._off(f"Socket Mode failed to connect ({type(exc).__name__}); check SLACK_APP_TOKEN and the network")

    def _off(self, why: str) -> None:
        self.surface.status = f"off ({why})"
        log.error("slack: %s", why)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        try:
            await asyncio.wait_for(self.runtime.idle(), START_TIMEOUT)
        except TimeoutError:
            log.warning("slack: stopped with card edits still queued")
        session = self.runtime.out.client.session
        if session is not None:
            await session.close()
