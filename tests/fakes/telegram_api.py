"""A fake Telegram Bot API on 127.0.0.1, for the real python-telegram-bot ``Bot`` to talk to.

It serves ``/bot{token}/{method}`` the way the real API does (the ``{"ok": ..., "result": ...}`` envelope,
400 "message is not modified", 403 for blocked chats, 429 with ``parameters.retry_after``), keeps every
call and the current state of every message it holds, long-polls ``getUpdates``, and builds the updates a
user's client would cause (a command, a button press).

    async with FakeTelegram() as tg:
        app = Application.builder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)...
        tg.fail("sendMessage", retry_after=1)          # the next sendMessage answers 429
        update = tg.command(chat_id=-100200, user_id=1002, text="/ack 1")
        ...
        [card] = tg.messages_in(-100200)
        press = tg.press(card, user_id=1002, data=card.buttons()[0]["callback_data"])
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token-do-not-log"
BOT_ID = 123456
BOT_USERNAME = "tocsin_test_bot"
#: Form fields whose values PTB sends JSON-encoded (plain strings are sent as they are).
_JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "link_preview_options", "reply_parameters"}
_INT_FIELDS = {"chat_id", "message_id", "message_thread_id", "offset", "limit", "timeout", "cache_time",
               "max_connections", "reply_to_message_id"}
_BOOL_FIELDS = {"show_alert", "drop_pending_updates", "disable_notification"}
_TAG = re.compile(r"<[^>]+>")


@dataclass
class ApiCall:
    """One request the bot made: the method and its decoded parameters."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeMessage:
    """The current state of a message the bot sent (edits change ``html`` and ``reply_markup``)."""

    chat_id: int
    message_id: int
    html: str
    reply_markup: dict[str, Any] | None = None
    thread_id: int | None = None
    edits: int = 0
    date: int = field(default_factory=lambda: int(time.time()))  # when it was sent, as Telegram counts (s)
    edit_date: int | None = None  # its last edit

    @property
    def text(self) -> str:
        """What a user sees: the HTML without tags."""
        return html.unescape(_TAG.sub("", self.html))

    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, label_part: str) -> dict[str, Any]:
        """The first button whose label contains ``label_part``."""
        return next(b for b in self.buttons() if label_part.lower() in b["text"].lower())


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


class FakeTelegram:
    """The fake API server. ``start()``/``stop()`` or ``async with``; ``base_url`` goes to PTB."""

    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        self.token, self.username = token, username
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], FakeMessage] = {}
        self.blocked: set[int] = set()  # chat ids that answer 403 "bot was blocked by the user"
        self.webhook: dict[str, Any] | None = None
        self.delays: dict[str, float] = {}  # method -> seconds to wait before answering (a slow API)
        self.holds: dict[str, asyncio.Event] = {}  # method -> its answers wait until the event is set
        self._failures: list[_Failure] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What ``TELEGRAM_API_URL`` / ``ApplicationBuilder.base_url`` should be."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- scripting --------------------------------------------------------------------------------

    def fail(self, method: str, *, status: int = 429, retry_after: int | None = 1, description: str | None = None,
             chat_id: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail with ``status``."""
        if description is None:
            description = f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Request"
        self._failures.append(_Failure(method, status, description, retry_after if status == 429 else None,
                                       chat_id, times))

    def heal(self) -> None:
        """Forget every failure scripted with ``fail`` that has not happened yet."""
        self._failures.clear()

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for ``getUpdates`` (polling mode)."""
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update

    # -- what happened ----------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of ``method``, in order."""
        return [c.params for c in self.calls if c.method == method]

    def messages_in(self, chat_id: int) -> list[FakeMessage]:
        """Every message the bot sent to ``chat_id``, oldest first, in its current (edited) state."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id]

    def last_message(self, chat_id: int) -> FakeMessage:
        return self.messages_in(chat_id)[-1]

    async def wait_for(self, method: str, count: int = 1, within: float = 5.0,
                       where: Callable[[dict[str, Any]], bool] = lambda p: True) -> list[dict[str, Any]]:
        """Wait until ``method`` has been called ``count`` times (matching ``where``); return those calls."""
        async with asyncio.timeout(within):
            async with self._changed:
                await self._changed.wait_for(lambda: len([p for p in self.calls_to(method) if where(p)]) >= count)
        return [p for p in self.calls_to(method) if where(p)]

    # -- updates a client would cause -------------------------------------------------------------

    def user(self, user_id: int, first_name: str | None = None) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}

    def chat(self, chat_id: int, title: str = "On-call") -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": title}

    def command(self, chat_id: int, user_id: int, text: str, *, thread_id: int | None = None,
                first_name: str | None = None, update_id: int | None = None,
                mentions: dict[str, int] | None = None) -> dict[str, Any]:
        """An update for a message ``text`` (a command when it starts with "/") sent by ``user_id``.

        ``mentions`` maps words of ``text`` to user ids: text mentions, as a client makes when someone
        without a username is picked from the member list.
        """
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": self.chat(chat_id),
            "from": self.user(user_id, first_name), "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        for word, mentioned in (mentions or {}).items():
            message.setdefault("entities", []).append({"type": "text_mention", "offset": text.index(word),
                                                       "length": len(word), "user": self.user(mentioned)})
        if thread_id is not None:
            message["message_thread_id"], message["is_topic_message"] = thread_id, True
        return {"update_id": update_id or next(self._update_ids), "message": message}

    def press(self, message: FakeMessage, user_id: int, data: str, *, update_id: int | None = None,
              first_name: str | None = None) -> dict[str, Any]:
        """An update for ``user_id`` pressing a button carrying ``data`` under ``message``."""
        return {
            "update_id": update_id or next(self._update_ids),
            "callback_query": {
                "id": str(next(self._callback_ids)), "from": self.user(user_id, first_name),
                "chat_instance": str(message.chat_id), "data": data,
                "message": self._message_json(message),
            },
        }

    # -- the API ----------------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append(ApiCall(method, params))
        await self._notify()
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if method in self.holds:
            await self.holds[method].wait()
        failure = self._failure_for(method, params)
        if failure is not None:
            return failure
        chat_id = params.get("chat_id")
        if chat_id in self.blocked and method in ("sendMessage", "editMessageText"):
            return _error(403, "Forbidden: bot was blocked by the user")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        return await handler(params)

    def _failure_for(self, method: str, params: dict[str, Any]) -> web.Response | None:
        for failure in self._failures:
            if failure.method == method and failure.chat_id in (None, params.get("chat_id")):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                extra = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
                return _error(failure.status, failure.description, extra)
        return None

    async def _api_getMe(self, params: dict[str, Any]) -> web.Response:
        return _ok({"id": BOT_ID, "is_bot": True, "first_name": "Tocsin", "username": self.username,
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False})

    async def _api_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = params
        return _ok(True)

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = None
        return _ok(True)

    async def _api_setMyCommands(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _api_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int):
            return _error(400, "Bad Request: chat not found")
        message = FakeMessage(chat_id, next(self._message_ids), params["text"], params.get("reply_markup"),
                              params.get("message_thread_id"))
        self.messages[(chat_id, message.message_id)] = message
        return _ok(self._message_json(message))

    async def _api_editMessageText(self, params: dict[str, Any]) -> web.Response:
        message = self.messages.get((params.get("chat_id"), params.get("message_id")))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if message.html == params["text"] and message.reply_markup == markup:
            return _error(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        message.html, message.reply_markup = params["text"], markup
        message.edits += 1
        message.edit_date = int(time.time())
        return _ok(self._message_json(message))

    async def _api_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset") or 0
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        try:
            async with asyncio.timeout(float(params.get("timeout") or 0)):
                async with self._changed:
                    await self._changed.wait_for(lambda: bool(self._updates))
        except TimeoutError:
            pass
        return _ok(self._updates[: params.get("limit") or 100])

    def _message_json(self, message: FakeMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id, "date": message.date, "chat": self.chat(message.chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tocsin", "username": self.username},
            "text": message.text,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.thread_id is not None:
            data["message_thread_id"], data["is_topic_message"] = message.thread_id, True
        return data


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        raw = await request.json()
        return {k: v for k, v in raw.items()}
    form = await request.post() if request.can_read_body else {}
    params: dict[str, Any] = {}
    for key, value in {**request.query, **form}.items():
        value = str(value)
        if key in _JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in _INT_FIELDS and value.lstrip("-").isdigit():
            params[key] = int(value)
        elif key in _BOOL_FIELDS:
            params[key] = value.lower() == "true"
        else:
            params[key] = value
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
