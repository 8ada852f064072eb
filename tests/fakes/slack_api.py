"""A fake Slack Web API on 127.0.0.1, for the real ``slack_sdk``/``slack_bolt`` clients, plus a builder of
requests signed the way Slack signs them.

    async with FakeSlack() as slack:                      # listens on 127.0.0.1:<free port>
        settings = Settings(slack_api_url=slack.base_url, slack_bot_token="xoxb-test", ...)
        ...
        slack.messages_in("CPAYMENTS")                    # what the bot posted there, with every edit
        slack.fail("chat.postMessage", Fault(429, retry_after=1), Fault(500))   # the next answers
        slack.fail("chat.postMessage", Fault(after=2))    # posts at once, answers 2 s later (slow but done)
        slack.down = True                                 # an outage: 503 from every method until False

Tokens pick behaviour, as slack_sdk's own fake does: ``xoxb-invalid`` (any token ending in ``-invalid``)
gets ``invalid_auth`` from every method. Every call is recorded in ``slack.calls`` (method, args, token) in arrival order; bodies are
parsed whether they came as JSON, a form or a query string. ``response_url(...)`` gives a loopback URL
whose posts land in ``slack.responses``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
INVALID_TOKEN = "xoxb-invalid"  # any token ending in "-invalid" (xapp-invalid too) is refused


@dataclass(frozen=True)
class Fault:
    """One scripted failure: an HTTP status (429 with ``retry_after``, 500...) or an ``ok: false`` error; or,
    with ``after``, "slow but took effect": the method does its work, then answers ``after`` seconds later."""

    status: int = 200
    error: str = "internal_error"
    retry_after: float | None = None
    after: float | None = None


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    """A message the bot posted; ``edits`` holds every chat.update applied to it, in order."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None

    @property
    def current(self) -> dict[str, Any]:
        return self.edits[-1] if self.edits else {"text": self.text, "blocks": self.blocks}


@dataclass
class Response:
    """A post to a ``response_url``."""

    key: str
    body: dict[str, Any]


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack:
    """Serves ``/api/<method>`` and ``/response/<key>``; start with ``async with`` or ``start()``."""

    def __init__(self, *, team_id: str = TEAM_ID) -> None:
        self.team_id = team_id
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[Response] = []
        self.views: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}  # id -> {"email": ..., "name": ...} for users.info
        self.delay: float = 0.0  # seconds every API answer waits (simulates a slow Slack)
        self.lag: float = 0.0  # seconds every answer waits after the method took effect (slow but done)
        self.holds: dict[str, asyncio.Event] = {}  # method -> its answers wait until the event is set
        self.down = False  # an outage: every method answers 503 and does nothing until this is False again
        self._faults: dict[str, deque[Fault]] = {}
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """For ``SLACK_API_URL`` / ``AsyncWebClient(base_url=...)`` (with the trailing slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "r") -> str:
        return f"http://127.0.0.1:{self.port}/response/{key}"

    # -- scripting and reading ------------------------------------------------------------------

    def fail(self, method: str, *faults: Fault) -> None:
        """Answer the next calls to ``method`` with these faults, in order, then normally again."""
        self._faults.setdefault(method, deque()).extend(faults)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages_in(self, channel: str, *, threads: bool = False) -> list[Message]:
        """Top-level messages in ``channel`` (and thread replies too with ``threads=True``)."""
        return [m for m in self.messages if m.channel == channel and (threads or m.thread_ts is None)]

    def thread(self, message: Message) -> list[Message]:
        return [m for m in self.messages if m.channel == message.channel and m.thread_ts == message.ts]

    def find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    async def wait_for(self, condition: Callable[[], Any], within: float = 5.0) -> Any:
        """Poll until ``condition()`` is truthy (the bot works after its HTTP ack); returns its value."""
        deadline = time.monotonic() + within
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {within}s waiting for the fake Slack")
            await asyncio.sleep(0.01)

    # -- HTTP -----------------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update({k: _decode(v) for k, v in (await request.post()).items()})
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else args.pop("token", None)
        self.calls.append(Call(method, args, token))
        if self.delay:
            await asyncio.sleep(self.delay)
        if method in self.holds:
            await self.holds[method].wait()
        if self.down:
            return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        faults = self._faults.get(method)
        if faults and faults[0].after is not None:
            return await self._late(faults.popleft().after, method, args, token)
        if faults:
            fault = faults.popleft()
            headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
            error = "ratelimited" if fault.status == 429 else fault.error
            return web.json_response({"ok": False, "error": error}, status=fault.status, headers=headers)
        if not token or token.endswith("-invalid"):
            return web.json_response({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        if getattr(self, "_" + method.replace(".", "_"), None) is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        if self.lag:
            return await self._late(self.lag, method, args, token)
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        return getattr(self, "_" + method.replace(".", "_"))(args)

    async def _late(self, seconds: float, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        """Do the work now, answer later: a client that gives up first never learns that it took effect."""
        answer = self._answer(method, args) if token and not token.endswith("-invalid") \
            else {"ok": False, "error": "invalid_auth"}
        await asyncio.sleep(seconds)
        return web.json_response(answer)

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(Response(request.match_info["key"], body))
        return web.Response(text="ok")

    # -- methods --------------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "tocsin",
                "team_id": self.team_id, "user_id": BOT_USER_ID, "bot_id": BOT_ID}

    def _next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith(("U", "W")):
            channel = "D" + channel  # posting to a user id lands in the app's DM with them
        message = Message(channel, self._next_ts(), args.get("text") or "", args.get("blocks") or [],
                          args.get("thread_ts"), metadata=args.get("metadata") or None)
        self.messages.append(message)
        return {"ok": True, "channel": channel, "ts": message.ts,
                "message": {"text": message.text, "ts": message.ts, "bot_id": BOT_ID}}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemerals.append(args)
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.find(str(args.get("channel")), str(args.get("ts")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.edits.append({"text": args.get("text") or "", "blocks": args.get("blocks") or []})
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": args.get("text")}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages, newest first; metadata only with ``include_all_metadata`` (as Slack does)."""
        channel = str(args.get("channel") or "")
        if not channel.startswith(("C", "G", "D")):
            return {"ok": False, "error": "channel_not_found"}
        limit = int(args.get("limit") or 100)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        found = [self._as_history(m, with_metadata) for m in reversed(self.messages_in(channel))][:limit]
        return {"ok": True, "messages": found, "has_more": False}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The thread's parent, then its replies, oldest first (as Slack does); metadata as for history."""
        parent = self.find(str(args.get("channel") or ""), str(args.get("ts") or ""))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        limit = int(args.get("limit") or 1000)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        found = [self._as_history(m, with_metadata) for m in [parent, *self.thread(parent)]][:limit]
        return {"ok": True, "messages": found, "has_more": False}

    @staticmethod
    def _as_history(message: Message, with_metadata: bool) -> dict[str, Any]:
        item = {"type": "message", "ts": message.ts, "bot_id": BOT_ID, **message.current}
        if message.thread_ts:
            item["thread_ts"] = message.thread_ts
        if with_metadata and message.metadata:
            item["metadata"] = message.metadata
        return item

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users") or "")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": user.get("name", ""), "display_name": user.get("name", "")}
        if user.get("email"):
            profile["email"] = user["email"]
        return {"ok": True, "user": {"id": args.get("user"), "team_id": self.team_id, "name": user.get("name", ""),
                                     "profile": profile}}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        self.views.append(args)
        return {"ok": True, "view": {"id": f"V{len(self.views)}", **(args.get("view") or {})}}


# -- requests as Slack sends them --------------------------------------------------------------------


class SlackRequests:
    """Builds signed request bodies for ``POST /slack/events``: slash commands, button presses, events."""

    def __init__(self, signing_secret: str, fake: FakeSlack | None = None, *, team_id: str = TEAM_ID) -> None:
        self.secret, self.fake, self.team_id = signing_secret, fake, team_id
        self._n = itertools.count(1)

    def sign(self, body: str, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """Headers Slack adds: ``v0=HMAC_SHA256(secret, "v0:{ts}:{body}")`` and the timestamp."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new((secret or self.secret).encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": kind}

    def _response_url(self, key: str) -> str:
        return self.fake.response_url(key) if self.fake else f"http://127.0.0.1:9/response/{key}"

    def command(self, text: str, *, user_id: str = "URESPONDER", user_name: str = "responder",
                channel_id: str = "CPAYMENTS", team_id: str | None = None,
                response_key: str | None = None) -> tuple[str, str]:
        """A ``/incident`` slash command: (body, response_url key)."""
        key = response_key or f"cmd{next(self._n)}"
        body = urlencode({"token": "deprecated", "team_id": team_id or self.team_id, "team_domain": "fake",
                          "channel_id": channel_id, "channel_name": "payments", "user_id": user_id,
                          "user_name": user_name, "command": "/incident", "text": text, "api_app_id": "A1",
                          "response_url": self._response_url(key), "trigger_id": f"trig.{next(self._n)}"})
        return body, key

    def action(self, action: dict[str, Any], *, user_id: str = "URESPONDER", user_name: str = "responder",
               channel_id: str = "CPAYMENTS", message_ts: str = "1.0", team_id: str | None = None,
               response_key: str | None = None) -> tuple[str, str]:
        """A ``block_actions`` payload for one element (a button or the snooze menu)."""
        key = response_key or f"act{next(self._n)}"
        team = team_id or self.team_id
        payload = {
            "type": "block_actions", "api_app_id": "A1", "trigger_id": f"trig.{next(self._n)}",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team},
            "channel": {"id": channel_id, "name": "payments"},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id},
            "message": {"ts": message_ts, "type": "message"},
            "response_url": self._response_url(key),
            "actions": [{"action_ts": f"{time.time():.6f}", **action}],
        }
        return urlencode({"payload": json.dumps(payload)}), key

    def button(self, card_blocks: list[dict[str, Any]], action_id: str, **kwargs: Any) -> tuple[str, str]:
        """Press the button ``action_id`` of a rendered card, exactly as it was rendered."""
        for block in card_blocks:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    action = {"type": element["type"], "action_id": action_id, "block_id": block["block_id"]}
                    if element["type"] == "static_select":
                        action["selected_option"] = kwargs.pop("option")
                    else:
                        action["value"] = element["value"]
                    return self.action(action, **kwargs)
        raise AssertionError(f"no {action_id} in the card")

    def view_submission(self, view: dict[str, Any], values: dict[str, Any], *, user_id: str = "URESPONDER") -> str:
        payload = {"type": "view_submission", "team": {"id": self.team_id}, "api_app_id": "A1",
                   "user": {"id": user_id, "name": "x", "team_id": self.team_id},
                   "view": {**view, "id": "V1", "state": {"values": values}}}
        return urlencode({"payload": json.dumps(payload)})

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        """An Events API callback (JSON body)."""
        return json.dumps({"token": "deprecated", "team_id": self.team_id, "api_app_id": "A1", "type": "event_callback",
                           "event_id": event_id or f"Ev{next(self._n)}", "event_time": int(time.time()),
                           "authorizations": [{"team_id": self.team_id, "user_id": BOT_USER_ID, "is_bot": True}],
                           "event": event})


async def _serve(port: int) -> None:
    fake = FakeSlack()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", fake._api)
    app.router.add_post("/response/{key}", fake._response)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"fake Slack on http://127.0.0.1:{port}/api/", flush=True)
    while True:  # keep memory flat in long runs: only the counts matter to a benchmark
        await asyncio.sleep(5)
        del fake.calls[:-1000], fake.responses[:-1000], fake.messages[:-5000]


if __name__ == "__main__":  # python -m tests.fakes.slack_api PORT (benchmarks)
    import sys

    asyncio.run(_serve(int(sys.argv[1])))
