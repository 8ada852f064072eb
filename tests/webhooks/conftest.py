"""Fixtures: the sidecar app on the shared container (SQLite and PostgreSQL), and an HTTP client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.bootstrap import SIDECAR, Parts
from tests.webhooks.support import client_for, configure, sidecar_app


@pytest.fixture
def parts() -> Parts:
    return SIDECAR


@pytest.fixture
async def client(container, people) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the real sidecar app (routes, auth, parsing, ingestion, metrics)."""
    configure(container)
    async with client_for(sidecar_app(container), container) as http:
        yield http


@pytest.fixture
def changes(recorder):
    """Every change published on the bus (what the chat surfaces would be told), in order."""
    return recorder.changes
