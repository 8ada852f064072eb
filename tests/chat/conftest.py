"""One card-sync suite for every platform: a driver per platform runs its real adapter (slack_sdk, PTB)
against its fake HTTP API on 127.0.0.1 and reads back what the fake received; the shell's prints to a fake
terminal (the real ``Terminal`` is driven through a pseudo-terminal in tests/shell/)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import bootstrap
from bot.app import create_app
from bot.bootstrap import Parts
from bot.chat.cards import CardSync
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.settings import Settings
from bot.shell.main import sign_in
from bot.shell.session import Session
from bot.telegram.app import TelegramRuntime
from storage.clock import FakeClock
from tests.asgi import served
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.terminal import FakeTerminal
from tests.slack.conftest import slack_settings
from tests.telegram.harness import FAST, GROUP, telegram_settings


def shown_text(message: dict[str, Any]) -> str:
    """A Slack message as its reader sees it: the fallback text, then every block's text and fields."""
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        for item in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
    return "\n".join(parts)


class Chat:
    """What every platform's test driver offers: the card syncer, and what its fake API saw."""

    name: str
    home: str  # the chat of team "payments", as its cards' claims name it
    cards: CardSync

    async def settle(self) -> None: ...
    def cards_in_home(self) -> list[str]: ...  # the text of each card in the team's chat, as now shown
    def edits(self) -> int: ...
    def posts(self) -> int: ...
    def outage(self, down: bool) -> None: ...
    def refuse_next_post(self) -> None: ...
    def slow_posts(self, seconds: float) -> None: ...
    def hold_edits(self) -> asyncio.Event: ...  # edits wait for the event: a storm arrives while one is in flight


class SlackChat(Chat):
    name, home = "slack", "CPAYMENTS"

    def __init__(self, fake: FakeSlack, container: Container) -> None:
        self.fake, self.runtime = fake, container.slack
        self.cards = self.runtime.cards
        out = self.runtime.out
        out.max_attempts, out.backoff, out.max_backoff = 4, 0.02, 0.1  # an outage outlasts the retries quickly

    async def settle(self) -> None:
        await self.runtime.idle()

    def cards_in_home(self) -> list[str]:
        return [shown_text(m.current) for m in self.fake.messages_in(self.home)]

    def edits(self) -> int:
        return len(self.fake.calls_to("chat.update"))

    def posts(self) -> int:
        return len([c for c in self.fake.calls_to("chat.postMessage")
                    if c.args.get("channel") == self.home and not c.args.get("thread_ts")])

    def outage(self, down: bool) -> None:
        self.fake.down = down

    def refuse_next_post(self) -> None:
        self.fake.fail("chat.postMessage", Fault(error="channel_not_found"))

    def slow_posts(self, seconds: float) -> None:
        self.fake.lag = seconds

    def hold_edits(self) -> asyncio.Event:
        return self.fake.holds.setdefault("chat.update", asyncio.Event())


class TelegramChat(Chat):
    name, home = "telegram", str(GROUP)

    def __init__(self, fake: FakeTelegram, runtime: TelegramRuntime) -> None:
        self.fake, self.runtime, self.cards = fake, runtime, runtime.cards

    async def settle(self) -> None:
        await self.runtime.drain()

    def cards_in_home(self) -> list[str]:
        return [m.text for m in self.fake.messages_in(GROUP)]

    def edits(self) -> int:
        return len(self.fake.calls_to("editMessageText"))

    def posts(self) -> int:
        return len([c for c in self.fake.calls_to("sendMessage") if c["chat_id"] == GROUP])

    def outage(self, down: bool) -> None:
        if down:
            self.fake.fail("sendMessage", status=502, times=1000)
        else:
            self.fake.heal()

    def refuse_next_post(self) -> None:
        self.fake.fail("sendMessage", status=403, description="Forbidden: bot was kicked from the group chat")

    def slow_posts(self, seconds: float) -> None:
        self.fake.delays["sendMessage"] = seconds

    def hold_edits(self) -> asyncio.Event:
        return self.fake.holds.setdefault("editMessageText", asyncio.Event())


class ShellChat(Chat):
    """A ``tocsin shell`` session of the payments responder, printing to a fake terminal. Its "chat" is the
    session; "teams without a chat" are teams where the person holds no role (platform)."""

    name = "shell"

    def __init__(self, terminal: FakeTerminal, session: Session) -> None:
        self.terminal, self.session, self.cards = terminal, session, session.cards
        self.home = session.channel.chat

    async def settle(self) -> None:
        await self.session.settle()

    def cards_in_home(self) -> list[str]:
        return self.terminal.cards()

    def edits(self) -> int:
        return self.terminal.attempts["edit"]

    def posts(self) -> int:
        return self.terminal.attempts["card"]

    def outage(self, down: bool) -> None:
        self.terminal.blocked = down

    def refuse_next_post(self) -> None:
        self.terminal.closed_for.add("card")

    def slow_posts(self, seconds: float) -> None:
        self.terminal.delays["card"] = seconds

    def hold_edits(self) -> asyncio.Event:
        return self.terminal.holds.setdefault("edit", asyncio.Event())


@pytest.fixture(params=["slack", "telegram", "shell"])
def platform(request: pytest.FixtureRequest) -> str:
    """The platform under test: every test of the suite runs once per platform."""
    return request.param


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeTelegram]]:
    async with FakeSlack() as fake_slack, FakeTelegram() as tg:
        yield fake_slack, tg


@pytest.fixture
def settings(db_url: str, fakes: tuple[FakeSlack, FakeTelegram]) -> Settings:
    """Settings for both platforms; the process runs the one under test."""
    fake_slack, tg = fakes
    return telegram_settings(slack_settings(db_url, fake_slack), tg)


@pytest.fixture
def parts(platform: str) -> Parts:
    return Parts(slack=platform == "slack", telegram=platform == "telegram")


@pytest.fixture
def build_options() -> dict[str, Any]:
    return {"telegram_limits": FAST}


@pytest.fixture
async def chat(platform: str, container: Container, people, fakes) -> AsyncIterator[Chat]:
    fake_slack, tg = fakes
    if platform == "shell":
        session = Session(container, await sign_in(container, "responder@example.com"), terminal := FakeTerminal())
        yield ShellChat(terminal, session)
        await session.stop()
        return
    if platform == "slack":
        async with served(create_app(container, migrate=False)):
            yield SlackChat(fake_slack, container)
        return
    runtime = container.telegram
    assert runtime is not None
    await runtime.start()
    try:
        yield TelegramChat(tg, runtime)
    finally:
        await runtime.stop()


@pytest.fixture
async def other(container: Container, clock: FakeClock) -> AsyncIterator[Container]:
    """Another process on the same database, with no chat platform: its change bus never reaches ours."""
    process = bootstrap.build(Settings(database_url=container.settings.database_url, scheduler=False),
                              TocsinConfig(), clock)
    yield process
    await process.close()
