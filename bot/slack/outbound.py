"""Calls to the Slack Web API, paced and retried, so that an outage or a 429 stays inside the Slack adapter.

Slack allows about one message per second per channel (chat.postMessage) and Tier 3 for chat.update;
a 429 carries ``Retry-After``. Posts to one channel go out one at a time, in order, so a retried
message is never overtaken by the next one.

chat.postMessage has no idempotency key: a post whose answer never came (a timeout, a dropped connection,
a 5xx) may have gone through. ``post`` tags each message with a marker in its metadata and, after such an
answer, looks for the marker in the channel's history before it posts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import scopes
from escalation.pacing import Limit, RateLimiter
from storage.ports import DeliveryError

log = logging.getLogger(__name__)

#: About one post per second per channel, with the short bursts Slack tolerates.
LIMITS = (Limit("post:", 3, 3.0), Limit("update", 50, 60.0), Limit("open", 50, 60.0), Limit("users", 50, 60.0),
          Limit("conversations.", 50, 60.0))
#: Errors that no retry can fix (the channel is gone, the bot was removed, the user was deactivated).
PERMANENT = frozenset({"channel_not_found", "not_in_channel", "is_archived", "user_not_found", "account_inactive",
                       "cannot_dm_bot", "user_disabled", "message_not_found", "cant_update_message",
                       "invalid_auth", "not_authed", "missing_scope", "invalid_blocks", "msg_too_long"})
TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
#: ``metadata.event_type`` of every message ``post`` sends; ``event_payload.marker`` names the message.
MARKED = "tocsin_post"
#: How many of a channel's latest messages (a thread's first replies) ``post`` reads to find one.
LOOK_BACK = 100
THREAD_LOOK_BACK = 1000
Reconcile = Callable[[], Awaitable[dict[str, Any] | None]]


class SlackUnavailable(Exception):
    """Slack kept failing (5xx, timeouts) for longer than we are willing to wait."""


#: What a failed ``call`` raises: log it and carry on; never let Slack break the caller.
FAILED = (SlackApiError, SlackUnavailable)


def _key(method: str, channel: str | None) -> str:
    if method in (scopes.POST_MESSAGE, scopes.POST_EPHEMERAL):
        return f"post:{channel}"
    return {scopes.UPDATE: "update", scopes.OPEN_DM: "open", scopes.USER_INFO: "users"}.get(method, method)


def unanswered(exc: BaseException | None) -> bool:
    """The request may have reached Slack and taken effect: anything but "could not connect"."""
    if exc is None:
        return False
    if isinstance(exc, SlackApiError):
        return exc.response is not None and exc.response.status_code >= 500
    return not isinstance(exc, aiohttp.ClientConnectorError)


def mark(marker: str) -> dict[str, Any]:
    """The ``metadata`` of a message that ``find_posted`` can find again by ``marker``."""
    return {"event_type": MARKED, "event_payload": {"marker": marker}}


def _marked(message: dict[str, Any], marker: str) -> bool:
    metadata = message.get("metadata") or {}
    return metadata.get("event_type") == MARKED and (metadata.get("event_payload") or {}).get("marker") == marker


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, if this is a 429."""
    response = error.response
    if response is None or response.status_code != 429:
        return None
    raw = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after") or "1"
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 1.0


class SlackOut:
    """The one way Tocsin calls Slack: ``call`` retries until delivered, ``once`` tries once."""

    def __init__(self, client: AsyncWebClient, *, max_attempts: int = 8, backoff: float = 0.5,
                 max_backoff: float = 30.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.client = client
        # One limiter per key: RateLimiter.acquire sleeps under one lock for all its keys, so a shared one
        # would make a busy channel hold up every other channel.
        self._limiters: defaultdict[str, RateLimiter] = defaultdict(lambda: RateLimiter(LIMITS))
        self.max_attempts, self.backoff, self.max_backoff, self._sleep = max_attempts, backoff, max_backoff, sleep
        self._channel_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _raw(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method not in scopes.METHOD_SCOPES:
            raise ValueError(f"{method} is not in bot.slack.scopes.METHOD_SCOPES (and so not in the manifest)")
        if method in (scopes.USER_INFO, scopes.HISTORY, scopes.REPLIES):
            response = await self.client.api_call(method, http_verb="GET", params=args)
        else:
            response = await self.client.api_call(method, json=args)
        return dict(response.data)  # type: ignore[arg-type]

    async def call(self, method: str, *, reconcile: Reconcile | None = None, uncertain: bool = False,
                   **args: Any) -> dict[str, Any]:
        """Call ``method`` until it succeeds: 429 waits Retry-After, 5xx and network errors back off.

        With ``reconcile``, an attempt that may have taken effect is never repeated before ``reconcile()``
        said it did not (None); what it finds is the answer. ``uncertain``: ask it before the first attempt."""
        key = _key(method, args.get("channel"))
        lock = self._channel_locks[key] if key.startswith("post:") else None
        if lock is None:
            return await self._with_retries(method, key, args, reconcile, uncertain)
        async with lock:
            return await self._with_retries(method, key, args, reconcile, uncertain)

    async def post(self, marker: str, *, uncertain: bool = False, **args: Any) -> dict[str, Any]:
        """chat.postMessage at most once per ``marker`` and channel, however its attempts end (see above);
        ``uncertain``: an earlier call may have posted it already."""
        args["metadata"] = mark(marker)
        find = partial(self.find_posted, args["channel"], marker, args.get("thread_ts"))
        return await self.call(scopes.POST_MESSAGE, reconcile=find, uncertain=uncertain, **args)

    async def find_posted(self, channel: str, marker: str, thread: str | None = None) -> dict[str, Any] | None:
        """The message sent with ``marker`` to ``channel`` (or its ``thread``), as chat.postMessage answers
        it, if it is among the latest; None if not, or if Slack will not show the history (then posting
        again is the lesser harm than no message at all). Other failures raise, as ``call``'s do."""
        method = scopes.REPLIES if thread else scopes.HISTORY
        where = {"ts": thread, "limit": THREAD_LOOK_BACK} if thread else {"limit": LOOK_BACK}
        await self._limiters[method].acquire(method)
        try:
            data = await self._raw(method, {"channel": channel, "include_all_metadata": "true", **where})
        except SlackApiError as exc:
            if retry_after(exc) is not None or unanswered(exc):
                raise
            error = exc.response.data.get("error") if isinstance(exc.response.data, dict) else ""
            log.warning("slack: cannot read %s to look for a post that may have gone through (%s)", channel, error)
            return None
        found = next((m for m in data.get("messages") or [] if _marked(m, marker)), None)
        return None if found is None else {"ok": True, "channel": channel, "ts": found["ts"], "message": found}

    async def _with_retries(self, method: str, key: str, args: dict[str, Any], reconcile: Reconcile | None,
                            uncertain: bool) -> dict[str, Any]:
        delay = self.backoff
        for attempt in range(1, self.max_attempts + 1):
            await self._limiters[key].acquire(key)
            try:
                if uncertain and reconcile is not None:
                    found = await reconcile()
                    if found is not None:
                        log.info("slack %s had gone through after all; not sent again", method)
                        return found
                    uncertain = False
                return await self._raw(method, args)
            except SlackApiError as exc:
                wait = retry_after(exc)
                if wait is not None:
                    log.info("slack %s rate limited; retrying after %ss", method, wait)
                    self._limiters[key].block(key, wait)
                    continue  # the limiter holds the next acquire until Retry-After has passed
                status = exc.response.status_code if exc.response is not None else 0
                if status < 500:
                    raise
                log.warning("slack %s answered %s (attempt %s)", method, status, attempt)
                uncertain = uncertain or unanswered(exc)
            except TRANSIENT as exc:
                log.warning("slack %s failed: %s (attempt %s)", method, type(exc).__name__, attempt)
                uncertain = uncertain or unanswered(exc)
            await self._sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        raise SlackUnavailable(f"slack {method} failed {self.max_attempts} times")

    async def once(self, method: str, **args: Any) -> dict[str, Any]:
        """One paced attempt; failures become ``DeliveryError`` (with ``retry_after`` on a 429)."""
        key = _key(method, args.get("channel"))
        await self._limiters[key].acquire(key)
        try:
            return await self._raw(method, args)
        except SlackApiError as exc:
            wait = retry_after(exc)
            if wait is not None:
                self._limiters[key].block(key, wait)
                raise DeliveryError(f"slack {method} rate limited", retry_after=wait) from exc
            data = exc.response.data if exc.response is not None else None
            error = data.get("error", "") if isinstance(data, dict) else ""
            status = exc.response.status_code if exc.response is not None else 0
            raise DeliveryError(f"slack {method} failed: {error or status}",
                                permanent=error in PERMANENT) from exc
        except TRANSIENT as exc:
            raise DeliveryError(f"slack {method} unreachable: {type(exc).__name__}") from exc
