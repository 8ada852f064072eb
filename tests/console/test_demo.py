"""The demo and the console's notification view, in process: who may load the demo, that it loads only into
a new organisation and once, and that each person's notification view shows only what is theirs to read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.bootstrap import Parts
from bot.console import demo, signin
from bot.notify.inbox import InboxSender
from storage.models import Person, Team
from tests.asgi import client
from tests.console.conftest import csrf_of, follow, press
from tests.escalation.conftest import ticker
from tests.webhooks.support import sidecar_app


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, console=True, escalation="ledger")


@pytest.fixture
def fake_senders() -> dict[str, InboxSender]:
    return {"console": InboxSender("console")}


@pytest.fixture
def tick(container, clock) -> Callable:
    return ticker(container, clock)


async def _teams(container) -> list[str]:
    async with container.db.sessions() as session:
        return sorted((await session.scalars(select(Team.name))).all())


async def test_only_an_admin_loads_the_demo_and_only_into_a_new_organisation(browser, container):
    responder = await browser("responder@example.com")
    board = await responder.get("/")
    assert "Load the demo" not in board.text
    refused = await press(responder, "/demo", {"csrf": csrf_of(board.text)})
    assert "Responder may not load the demo: it takes an admin." in refused.text

    admin = await browser("admin@example.com")
    board = await admin.get("/")
    assert "No open incidents." in board.text and "Load the demo" not in board.text  # teams of its own
    refused = await press(admin, "/demo", {"csrf": csrf_of(board.text)})
    assert "loads only into an empty organisation" in refused.text and "nothing was changed" in refused.text
    assert await _teams(container) == ["payments", "platform"]
    assert (await admin.post("/demo")).status_code == 403  # no CSRF token: nothing runs


async def _signed_in(app, container, email: str):
    c = client(app, container)
    await follow(c, await signin.login_link(container, email))
    return c


async def test_the_demo_pages_on_the_console_and_each_person_sees_only_their_own(container, tick):
    assert (await demo.first_run(container)).startswith("Next: open http://")
    assert "login-link EMAIL" in await demo.first_run(container)  # people now: no second admin
    async with container.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 1

    app = sidecar_app(container)
    admin = await _signed_in(app, container, demo.ADMIN_EMAIL)
    board = await admin.get("/")
    assert "Load the demo" in board.text
    for _ in range(2):  # a second press changes no organisation: the same alert, the same incident
        loaded = await press(admin, "/demo", {"csrf": csrf_of(board.text)})
        assert "The demo is loaded" in loaded.text
    assert await _teams(container) == ["demo"]
    assert loaded.text.count('id="incident-') == 1 and 'id="incident-1"' in loaded.text

    await tick(seconds=11)
    lead = await _signed_in(app, container, "lee.lead@demo.invalid")
    manager = await _signed_in(app, container, "max.manager@demo.invalid")
    for c in (admin, lead, manager):
        assert "the demo channel" in (await c.get("/notifications")).text
    await tick(seconds=15)
    assert "Lee Lead" in (await lead.get("/notifications")).text
    assert "Lee Lead" not in (await manager.get("/notifications")).text  # the lead's page is the lead's
    assert "Lee Lead" in (await admin.get("/notifications")).text  # an admin sees every one
    await tick(seconds=20)
    assert "Max Manager" in (await manager.get("/notifications")).text
    assert "Max Manager" not in (await lead.get("/notifications")).text
    for c in (admin, lead, manager):
        await c.aclose()


async def test_no_notification_view_without_a_session(http):
    assert (await http.get("/notifications")).headers["location"] == "/signin"
