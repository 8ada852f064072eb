"""Fixtures: the HTTP app with the console, the test config and people, and a signed-in browser per person."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import pytest

from bot.bootstrap import Parts
from bot.console import signin
from bot.container import Container
from tests.asgi import client
from tests.webhooks.support import AM_TOKEN, FIXTURES, configure, serving, sidecar_app

Browser = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, console=True)


@pytest.fixture
async def app(container: Container, people):
    configure(container)
    return sidecar_app(container)


@pytest.fixture
async def http(app, container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with no session."""
    async with client(app, container) as c:
        yield c


@pytest.fixture
async def browser(app, container: Container) -> AsyncIterator[Browser]:
    """``await browser(email)``: a new browser signed in as that person through a fresh link."""
    opened: list[httpx.AsyncClient] = []

    async def open_as(email: str) -> httpx.AsyncClient:
        c = client(app, container)
        opened.append(c)
        await follow(c, await signin.login_link(container, email))
        return c

    yield open_as
    for c in opened:
        await c.aclose()


@pytest.fixture
async def base_url(app, container: Container) -> AsyncIterator[str]:
    """The app served by a real uvicorn on loopback (without its lifespan): its base URL."""
    async with serving(app, container) as url:
        yield url


async def follow(c: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open a sign-in link and press its button, as a person would; the answer to the press."""
    page = await c.get(urlsplit(link).path)
    assert page.status_code == 200
    return await c.post("/login", data=login_form(page.text))


def login_form(page: str) -> dict[str, str]:
    """The hidden fields of a sign-in link's page (its token, and the nonce its cookie must match)."""
    return {name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1) for name in ("token", "nonce")}


async def press(c: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, back: str = "/",
                headers: dict[str, str] | None = None) -> httpx.Response:
    """A press as a browser makes it: the POST, its 303 to the page it came from, and that page (the
    answer shown on it)."""
    answer = await c.post(path, data=data, headers=headers)
    assert (answer.status_code, answer.headers.get("location")) == (303, back), answer.text
    return await c.get(back)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def post_alerts(c: httpx.AsyncClient, count: int = 1, title: str = "DBPrimaryDown") -> httpx.Response:
    """A real Alertmanager notification (the captured one) with ``count`` firing alerts in its group."""
    payload = json.loads((FIXTURES / "001_firing_DBPrimaryDown.json").read_text())
    first = payload["alerts"][0]
    payload["alerts"] = []
    for i in range(count):
        alert = copy.deepcopy(first)
        alert["labels"]["instance"], alert["fingerprint"] = f"db{i}:5432", f"{i:016x}"
        alert["labels"]["alertname"] = title
        payload["alerts"].append(alert)
    payload["groupKey"] = f'{{}}:{{alertname="{title}"}}'
    payload["commonLabels"]["alertname"] = payload["groupLabels"]["alertname"] = title
    response = await c.post("/webhooks/alertmanager", json=payload, headers={"Authorization": f"Bearer {AM_TOKEN}"})
    assert response.status_code in (200, 202), response.text
    return response
