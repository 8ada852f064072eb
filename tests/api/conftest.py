"""Fixtures: the sidecar app with the test config, and a client per API token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.bootstrap import SIDECAR, Parts
from tests.webhooks.support import API_TOKENS, client_for, configure, sidecar_app


@pytest.fixture
def parts() -> Parts:
    return SIDECAR


@pytest.fixture
async def http(container, people) -> AsyncIterator[httpx.AsyncClient]:
    configure(container)
    async with client_for(sidecar_app(container), container) as client:
        yield client


@pytest.fixture
def as_token():
    """Headers for the API token bound to ``who`` (observer/admin roles, responder/outsider people)."""
    return lambda who: {"Authorization": f"Bearer {API_TOKENS[who]}"}
