"""A shell session (``bot.shell.session``) on a fake terminal: what a typed line does, which cards print,
and what a session leaves behind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.chat import copies
from bot.chat.contract import Copy
from bot.shell.channel import forget_stale
from bot.shell.main import SignInRefused, sign_in
from bot.shell.session import Session
from storage.models import ChatMessageRef, InboundReceipt
from tests.fakes.terminal import FakeTerminal

Open = Callable[[str], Awaitable[tuple[Session, FakeTerminal]]]


@pytest.fixture
async def open_session(container, people) -> AsyncIterator[Open]:
    """Sign a person in at a fake terminal; every session is stopped afterwards."""
    sessions: list[Session] = []

    async def start(role: str) -> tuple[Session, FakeTerminal]:
        session = Session(container, await sign_in(container, f"{role}@example.com"), terminal := FakeTerminal())
        sessions.append(session)
        return session, terminal

    yield start
    for session in sessions:
        await session.stop()


async def type_(session: Session, *lines: str) -> None:
    for line in lines:
        assert await session.handle(line)


async def test_a_number_runs_that_action_of_the_card_printed_last(open_session):
    ana, terminal = await open_session("responder")
    await type_(ana, "declare Disk full team:payments")
    assert "[1] ack 1  [2] resolve 1  [3] escalate 1  [4] snooze 1 1h" in terminal.cards()[0]
    await type_(ana, "1")
    assert terminal.texts("reply")[-1] == "#1 acknowledged by Responder."
    [card] = terminal.cards()
    assert "Status: acknowledged" in card and "[1] resolve 1  [2] snooze 1 1h" in card
    await type_(ana, "3")
    assert terminal.texts("reply")[-1] == "No such action: the card printed last has actions 1 to 2."


async def test_the_incident_word_and_the_slash_are_optional(open_session):
    ana, terminal = await open_session("responder")
    await type_(ana, "/incident declare Disk full team:payments", "/ack 1", "resolve 1 freed space")
    assert terminal.texts("reply") == ["Declared #1: Disk full.", "#1 acknowledged by Responder.",
                                       "#1 resolved by Responder."]
    assert "(closed: no actions)" in terminal.cards()[0]
    assert terminal.texts("line") == ["#1 resolved by Responder: freed space"]  # the card does not say it


async def test_help_lists_the_grammar_and_the_shortcuts_and_mistakes_say_the_usage(open_session):
    ana, terminal = await open_session("observer")
    await type_(ana, "help", "ack", "2")
    help_, usage, number = terminal.texts("reply")
    assert "declare <title>" in help_ and "the numbered action of the card printed last" in help_
    assert "Usage: /incident ack <number>" in usage
    assert number == "No card with actions has been printed yet (type help)."
    assert not await ana.handle("exit")


async def test_a_refusal_prints_as_the_reply_and_changes_nothing(open_session, container, people):
    observer, terminal = await open_session("observer")
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await observer.settle()
    await type_(observer, "1")
    assert "observer" in terminal.texts("reply")[-1].lower()
    assert (await container.queries.get(1)).status.value == "open"
    assert terminal.attempts["edit"] == 0


async def test_each_person_sees_the_cards_of_their_teams_and_an_admin_all(open_session, container, people):
    sessions = [await open_session(role) for role in ("observer", "outsider", "admin")]
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await container.incidents.declare(people.slack("admin"), "Platform thing", team="platform")
    for session, _ in sessions:
        await session.settle()
    observer, outsider, admin = ([c.splitlines()[0] for c in terminal.cards()] for _, terminal in sessions)
    assert observer == ["\u2500\u2500\u2500 new incident #1: Disk full \u2500\u2500\u2500"]
    assert outsider == ["\u2500\u2500\u2500 new incident #2: Platform thing \u2500\u2500\u2500"]  # platform's lead
    assert len(admin) == 2


async def test_two_terminals_each_print_every_card_and_leave_no_rows_behind(open_session, container, people):
    first, one = await open_session("responder")
    second, two = await open_session("responder")
    await type_(first, "declare Disk full team:payments", "1")
    await second.settle()
    assert len(one.cards()) == len(two.cards()) == 1 and "acknowledged" in two.cards()[0]

    await first.stop()
    async with container.db.sessions() as session:
        chats = (await session.scalars(select(ChatMessageRef.chat_id).where(ChatMessageRef.platform == "shell"))).all()
        claims = await session.scalar(select(func.count()).select_from(InboundReceipt).where(
            InboundReceipt.source == "shell", InboundReceipt.key.like(f"%{first.channel.chat}")))
    assert chats == [second.channel.chat] and claims == 0


async def test_signing_in_needs_a_configured_person_with_a_role(container, people):
    with pytest.raises(SignInRefused, match="no person with email nobody@example.com"):
        await sign_in(container, "nobody@example.com")
    admin = await sign_in(container, "ADMIN@example.com")
    assert admin.actor.display_name == "Admin" and admin.readable.teams is None and admin.person_id == people.ids["admin"]


async def test_copies_left_by_a_killed_session_go_at_a_later_sign_in_after_the_retention(container, people, clock):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    view = await container.queries.get(1)
    await copies.add(container.db, "shell", view.id, Copy("s1-dead", "1:1"), clock.now() - timedelta(hours=25))
    await copies.add(container.db, "shell", view.id, Copy("s2-live", "1:1"), clock.now() - timedelta(hours=1))
    await copies.add(container.db, "telegram", view.id, Copy("-100200", "7"), clock.now() - timedelta(days=9))
    await forget_stale(container.db, clock.now() - timedelta(hours=24))
    assert [c.chat for c in await copies.of(container.db, "shell", view.id)] == ["s2-live"]
    assert len(await copies.of(container.db, "telegram", view.id)) == 1
