"""Reaching a Tocsin app in process: its handlers read the container from the lifespan state
(``request.state.tocsin``), which httpx's ASGI transport does not run; these hand it over as a server would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.container import Container

BASE_URL = "http://tocsin.test"


class with_state:
    """``app`` given ``state`` on every request, as an ASGI server passes what the lifespan yielded; its
    other attributes (``routes``...) are the app's."""

    def __init__(self, app: Starlette, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def client(app: Starlette, container: Container, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """A client of ``app`` without its lifespan (nothing started): requests see ``container``."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=with_state(app, {"tocsin": container})),
                             base_url=base_url)


@contextlib.asynccontextmanager
async def served(app: Starlette, base_url: str = BASE_URL) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` with its lifespan running (components started, container closed at the end), and a client."""
    async with app.router.lifespan_context(app) as state:
        transport = httpx.ASGITransport(app=with_state(app, state or {}))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http
