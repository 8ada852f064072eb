"""Wiring: the python-telegram-bot Application, long polling or the webhook route, the card syncer, its
sweeper and the sender."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.chat.receipts import Receipts
from bot.container import Container
from bot.logs import RedactingFilter
from bot.surface import Surface
from bot.sweep import CardSweeper, Mark
from bot.telegram.buttons import Buttons
from bot.telegram.callback import CallbackCodec
from bot.telegram.cards import card_sync
from bot.telegram.handlers import Commands
from bot.telegram.inbound import TelegramInbound
from bot.telegram.outbox import TELEGRAM_LIMITS, Outbox
from bot.telegram.platform import NAME
from bot.telegram.sender import TelegramSender
from escalation.pacing import Limit
from storage import inbound
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds between attempts to reach an unreachable Bot API
OOPS = "Sorry, that failed on our side; it has been logged."
OOPS_RETRY = "Sorry, that failed on our side; Tocsin will try it again shortly."


def webhook_secret(token: str, configured: str | None) -> str:
    """The configured secret, or one derived from the token (the same on every replica)."""
    return configured or hashlib.sha256(b"tocsin-telegram-webhook:" + token.encode()).hexdigest()[:48]


def file_url(api_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (a local Bot API server alike)."""
    base, sep, tail = api_url.rstrip("/").rpartition("/")
    return f"{base}/file/{tail}" if sep else api_url


def _redact_token_in_ptb_logs(token: str) -> None:
    """PTB logs its API URLs, token included, at DEBUG: redact them even when nobody ran logs.configure."""
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) and token in f.secrets for f in logger.filters):
            logger.addFilter(RedactingFilter([token]))


class TelegramRuntime:
    """One bot: its Application, outbox, listeners, card syncer and sender; a Component of the process."""

    def __init__(self, container: Container, *, limits: Sequence[Limit] = TELEGRAM_LIMITS,
                 poll_timeout: float = 10.0) -> None:
        settings = container.settings
        token = settings.telegram_bot_token or ""
        self.container = container
        self.webhook_url = settings.telegram_webhook_url
        self.secret = webhook_secret(token, settings.telegram_webhook_secret)
        self.poll_timeout = poll_timeout
        _redact_token_in_ptb_logs(token)
        builder = (Application.builder().token(token).base_url(settings.telegram_api_url)
                   .base_file_url(file_url(settings.telegram_api_url)).job_queue(None).concurrent_updates(True))
        if self.webhook_url:
            builder = builder.updater(None)
        self.application = builder.build()
        self.outbox = Outbox(self.application.bot, limits)
        self.codec = CallbackCodec(token)
        self.cards = card_sync(container, self.outbox, self.codec)
        self.sender = TelegramSender(container, self.outbox, self.codec)
        self.inbound = TelegramInbound(container, self.application)
        self._retrying: asyncio.Task[None] | None = None
        self.retry_first = RETRY_FIRST
        routes = [Route(WEBHOOK_PATH, self.handle_webhook_request, methods=["POST"])] if self.webhook_url else []
        sweeper = CardSweeper(self, container.db, name="telegram card")
        self._surface = Surface("telegram", f"on ({self.mode})", routes=routes, components=[self, self.inbound, sweeper])
        self._register()

    def _register(self) -> None:
        app = self.application
        app.add_handler(TypeHandler(Update, self.handle_update_once), group=-1)
        Commands(self.container, self.outbox, self.cards).register(app)
        receipts = Receipts(NAME, self.container.db, self.container.clock)  # a double tap escalates once
        self.buttons = Buttons(self.container, self.outbox, self.codec, receipts)
        self.buttons.register(app)
        app.add_handler(TypeHandler(Update, self.handle_update_done), group=1000)
        app.add_error_handler(self.handle_error)

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    def surface(self) -> Surface:
        """What the process serves and runs for Telegram; its status follows the connection."""
        return self._surface

    # -- life cycle (a Component) -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect; a refused token turns Telegram off, an unreachable API is retried in the background."""
        try:
            await self._connect()
        except InvalidToken:
            log.error("telegram refused TELEGRAM_BOT_TOKEN; telegram is off")
            self._set_status("off (Telegram refused TELEGRAM_BOT_TOKEN)")
        except TelegramError as exc:
            log.warning("telegram is unreachable (%s); retrying in the background", exc)
            self._set_status("on (waiting for Telegram)")
            self._retrying = asyncio.get_running_loop().create_task(self._keep_trying())

    async def _connect(self) -> None:
        app = self.application
        await app.initialize()  # getMe: the username that /cmd@botname must carry in groups
        if not app.running:
            await app.start()
        if self.webhook_url:
            await app.bot.set_webhook(self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
        elif not app.updater.running:
            await app.updater.start_polling(timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
        self._set_status(f"on ({self.mode})")
        log.info("telegram bot @%s started (%s)", app.bot.username, self.mode)

    async def _keep_trying(self) -> None:
        delay = self.retry_first
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connect()
                return
            except TelegramError as exc:
                log.warning("telegram is still unreachable (%s); next try in %.0fs", exc, delay)
                delay = min(delay * 2, RETRY_MAX)

    async def until_connected(self) -> None:
        """Wait for the background retries, if any, to connect (tests, health checks)."""
        if self._retrying is not None:
            await asyncio.shield(self._retrying)

    def _set_status(self, status: str) -> None:
        self._surface.status = status

    async def stop(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await self.drain()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def sweep(self, since: Mark) -> Mark:
        """Catch the cards up with other processes; while Telegram is out of reach, keep the mark for later."""
        if not self.application.running:
            return since
        return await self.cards.sweep(since)

    async def drain(self) -> None:
        """Wait until every change is delivered and every card edit is done (shutdown, tests)."""
        await self.inbound.drain()
        await self.container.bus.drain()
        await self.cards.drain()
        await self.container.bus.drain()

    # -- inbound -----------------------------------------------------------------------------------

    async def handle_update_once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler: an update kept before, by any process, is not processed again here."""
        if not await self.inbound.own(update):
            log.info("telegram update %s was already received; skipped", update.update_id)
            raise ApplicationHandlerStop

    async def handle_update_done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs after every handler that did not fail: the kept update is done."""
        await self.inbound.done(update)

    async def handle_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler failed: log it, keep it for a retry or a replay, tell the user the first time."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)
        if not isinstance(update, Update):
            return
        outcome = await self._keep_failure(update, context.error)
        if outcome is not None and outcome[1] > 1:
            raise ApplicationHandlerStop  # a retry failed again: the user heard about it the first time
        await self._report_failure(update, OOPS_RETRY if outcome and outcome[0] == inbound.FAILED else OOPS)
        raise ApplicationHandlerStop  # a failed update goes no further (and is reported once)

    async def _keep_failure(self, update: Update, error: BaseException | None) -> tuple[str, int] | None:
        try:
            return await self.inbound.failed(update, error)
        except Exception as exc:
            log.error("could not keep the failure of telegram update %s (%s)", update.update_id, type(exc).__name__)
            return None

    async def _report_failure(self, update: Update, text: str) -> None:
        update_id = update.update_id
        query = update.callback_query
        if query is not None:
            try:  # the client spins until the query is answered
                await query.answer(text, show_alert=True)
            except Exception:
                log.debug("the failed callback query of update %s was already answered", update_id)
            return
        message = update.effective_message
        if message is not None:
            try:
                await self.outbox.send(message.chat_id, text, reply_to=message.message_id,
                                       thread_id=message.message_thread_id if message.is_topic_message else None)
            except Exception:
                log.warning("could not report the failure of update %s to its chat", update_id)

    async def handle_webhook_request(self, request: Request) -> Response:
        """POST /telegram/webhook: check the secret, keep the update, answer 200; the handlers run after."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return Response(status_code=403)
        try:
            payload = json.loads(await request.body())
            update = Update.de_json(payload, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response("not a Telegram update", status_code=400)
        if not self.application.running:
            return Response("not connected to Telegram yet", status_code=503)  # Telegram delivers it again later
        try:
            accepted = await self.inbound.accept(payload, update)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:  # not kept: Telegram must deliver it again
            log.warning("telegram update %s not kept, answering 503: %s", update.update_id, type(exc).__name__)
            return Response("the update was not stored; deliver it again later", status_code=503)
        if not accepted:
            log.info("telegram update %s was already received; skipped", update.update_id)
        # Answer at once: handler failures are kept and retried, and Telegram holds every later update
        # behind one that is not answered.
        return Response(status_code=200)

