"""Calls to the Slack Web API, paced and retried, so that an outage or a 429 stays inside the Slack adapter.

Slack allows about one message per second per channel (chat.postMessage) and Tier 3 for chat.update;
a 429 carries ``Retry-After``. Posts to one channel go out one at a time, in order, so a retried
message is never overtaken by the next one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import Limit, RateLimiter
from bot.slack import scopes
from storage.ports import DeliveryError

log = logging.getLogger(__name__)

#: About one post per second per channel, with the short bursts Slack tolerates.
LIMITS = (Limit("post:", 3, 3.0), Limit("update", 50, 60.0), Limit("open", 50, 60.0), Limit("users", 50, 60.0))
#: Errors that no retry can fix (the channel is gone, the bot was removed, the user was deactivated).
PERMANENT = frozenset({"channel_not_found", "not_in_channel", "is_archived", "user_not_found", "account_inactive",
                       "cannot_dm_bot", "user_disabled", "message_not_found", "cant_update_message",
                       "invalid_auth", "not_authed", "missing_scope", "invalid_blocks", "msg_too_long"})
TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class SlackUnavailable(Exception):
    """Slack kept failing (5xx, timeouts) for longer than we are willing to wait."""


#: What a failed ``call`` raises: log it and carry on; never let Slack break the caller.
FAILED = (SlackApiError, SlackUnavailable)


def _key(method: str, channel: str | None) -> str:
    if method in (scopes.POST_MESSAGE, scopes.POST_EPHEMERAL):
        return f"post:{channel}"
    return {scopes.UPDATE: "update", scopes.OPEN_DM: "open", scopes.USER_INFO: "users"}.get(method, method)


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
        if method == scopes.USER_INFO:
            response = await self.client.api_call(method, http_verb="GET", params=args)
        else:
            response = await self.client.api_call(method, json=args)
        return dict(response.data)  # type: ignore[arg-type]

    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        """Call ``method`` until it succeeds: 429 waits Retry-After, 5xx and network errors back off."""
        key = _key(method, args.get("channel"))
        lock = self._channel_locks[key] if key.startswith("post:") else None
        if lock is None:
            return await self._with_retries(method, key, args)
        async with lock:
            return await self._with_retries(method, key, args)

    async def _with_retries(self, method: str, key: str, args: dict[str, Any]) -> dict[str, Any]:
        delay = self.backoff
        for attempt in range(1, self.max_attempts + 1):
            await self._limiters[key].acquire(key)
            try:
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
            except TRANSIENT as exc:
                log.warning("slack %s failed: %s (attempt %s)", method, type(exc).__name__, attempt)
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
