"""The sidecar as tests use it: the real app and config, reached through httpx (in process or over TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.app import create_app
from bot.config_file import parse
from bot.container import Container
from tests.asgi import client, with_state

#: Payloads captured from a real Alertmanager 0.25 (copied unchanged from the shared capture).
FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"

AM_TOKEN = "am-token-0123456789"
GRAFANA_USER, GRAFANA_PASSWORD = "grafana", "grafana-password-42"
ELASTIC_TOKEN = "elastic-token-0123456789"
GENERIC_TOKEN = "generic-token-0123456789"
GENERIC_HMAC = "generic-hmac-secret-0123456789"
PD_ROUTING_KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
MANUAL_TOKEN = "manual-token-0123456789"
API_TOKENS = {"observer": "api-observer-token", "responder": "api-responder-person-token",
              "admin": "api-admin-role-token", "outsider": "api-outsider-person-token"}

CONFIG: dict[str, Any] = {
    "teams": [{"name": "payments"}, {"name": "platform"}],
    "routing": {"team_label": "team", "services": {"payments-db": "payments", "checkout": "payments"}},
    "integrations": [
        {"name": "alertmanager", "type": "alertmanager", "token": AM_TOKEN, "team": "platform"},
        {"name": "grafana", "type": "grafana", "basic_auth": {"username": GRAFANA_USER, "password": GRAFANA_PASSWORD},
         "team": "platform"},
        {"name": "am-manual", "type": "alertmanager", "token": MANUAL_TOKEN, "auto_resolve": False},
        {"name": "kibana", "type": "elastic", "token": ELASTIC_TOKEN, "team": "platform"},
        {"name": "ci", "type": "generic", "token": GENERIC_TOKEN, "hmac_secret": GENERIC_HMAC, "team": "payments"},
        {"name": "pd-compat", "type": "pagerduty", "token": PD_ROUTING_KEY, "team": "payments"},
    ],
    "api_tokens": [
        {"name": "dashboard", "token": API_TOKENS["observer"], "role": "observer"},
        {"name": "responder", "token": API_TOKENS["responder"], "person": "responder@example.com"},
        {"name": "automation", "token": API_TOKENS["admin"], "role": "admin"},
        {"name": "outsider", "token": API_TOKENS["outsider"], "person": "outsider@example.com"},
    ],
}


def configure(container: Container, **overrides: Any) -> None:
    """Give the container the test config file (parsed as the real loader does)."""
    container.config = parse({**CONFIG, **overrides}, env={})


def sidecar_app(container: Container):
    """The HTTP app of ``container`` (built with ``bootstrap.SIDECAR`` parts)."""
    return create_app(container, migrate=False)


def client_for(app, container: Container) -> httpx.AsyncClient:
    """A client of ``app`` without its lifespan: requests see ``container``."""
    return client(app, container)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.json"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


AM = bearer(AM_TOKEN)


@contextlib.asynccontextmanager
async def serving(app, container: Container) -> AsyncIterator[str]:
    """Serve ``app`` with a real uvicorn on a free loopback port, in this event loop, without its lifespan
    (requests see ``container``); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(with_state(app, {"tocsin": container}), lifespan="off", log_level="warning", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
