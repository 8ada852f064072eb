"""Pacing outbound traffic: sliding-window rate limits per destination.

Each platform declares its own limits (the bot layer passes them in); the escalation dispatcher and the
platforms' own senders obey them through the same limiter.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

SWEEP_MIN = 256  # destinations remembered before the first look for idle ones


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` per ``seconds`` for every key that starts with ``scope``."""

    scope: str
    calls: int
    seconds: float


class RateLimiter:
    """Sliding-window limits per key; ``acquire`` waits until every named key has room, then books it."""

    def __init__(self, limits: Sequence[Limit], *, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.limits = tuple(limits)
        self._now, self._sleep = now, sleep
        self._history: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._sweep_at = SWEEP_MIN

    def _limit_for(self, key: str) -> Limit | None:
        return next((lim for lim in self.limits if key.startswith(lim.scope)), None)

    def _wait_for(self, key: str, now: float) -> float:
        wait = max(0.0, self._blocked_until.get(key, 0.0) - now)
        limit = self._limit_for(key)
        if limit is None:
            return wait
        history = self._history.setdefault(key, deque())
        while history and history[0] <= now - limit.seconds:
            history.popleft()
        if len(history) >= limit.calls:
            wait = max(wait, history[0] + limit.seconds - now)
        return wait

    async def acquire(self, *keys: str) -> float:
        """Wait until a call to all ``keys`` is allowed and record it. Returns the seconds waited.

        The check-and-book is atomic (no await between them); the sleep is not under any lock, so a
        busy key never holds up callers of other keys.
        """
        waited = 0.0
        while True:
            now = self._now()
            wait = max((self._wait_for(k, now) for k in keys), default=0.0)
            if wait <= 0:
                for key in keys:
                    if self._limit_for(key) is not None:
                        self._history.setdefault(key, deque()).append(now)
                self._forget_idle(now)
                return waited
            waited += wait
            await self._sleep(wait)

    def _forget_idle(self, now: float) -> None:
        # Every chat that was ever answered would stay here for good (strangers' chats included):
        # forget those past their window and their block, whenever the record has doubled since the last time.
        if len(self._history) + len(self._blocked_until) < self._sweep_at:
            return
        for key, history in list(self._history.items()):
            limit = self._limit_for(key)
            if not history or limit is None or history[-1] <= now - limit.seconds:
                del self._history[key]
        for key, until in list(self._blocked_until.items()):
            if until <= now:
                del self._blocked_until[key]
        self._sweep_at = max(SWEEP_MIN, 2 * (len(self._history) + len(self._blocked_until)))

    def remembered(self) -> int:
        """How many destinations the limiter keeps a record of."""
        return len(self._history.keys() | self._blocked_until.keys())

    def block(self, key: str, seconds: float) -> None:
        """The platform said "retry after ``seconds``" for ``key``: hold every call to it until then."""
        until = self._now() + max(0.0, seconds)
        self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), until)
