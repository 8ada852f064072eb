"""Pages and closing notices for the person at a shell: ``tocsin serve``'s dispatcher sends them with the
shell's sender (the outbox row is the inbox) and the session prints them, with the card's actions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from bot import notify
from bot.bootstrap import Parts
from bot.platforms import CHATS
from bot.shell.main import sign_in
from bot.shell.session import Session
from escalation import outbox
from escalation.dispatcher import Dispatcher
from escalation.engine import Escalation
from escalation.plan import Planned
from storage.models import ChatIdentity
from tests.escalation.conftest import notifications, steps, use_policy
from tests.fakes.terminal import FakeTerminal


@pytest.fixture
def parts() -> Parts:
    """With the escalation ledger hook: closing an incident writes the notices to whoever was paged."""
    return Parts(escalation="ledger")


@pytest.fixture
def dispatcher(container, clock) -> Dispatcher:
    """The serve process's outbound side, with the senders it registers (no tokens: the shell's alone)."""
    container.senders.update(notify.senders(container.settings))
    return Dispatcher(container.db, clock, container.senders)


async def page(container, people, role: str, number: int = 1) -> None:
    """Queue a page for ``role`` on the shell, as an escalation step does."""
    view = await container.queries.get(number)
    async with container.db.transaction() as session:
        await outbox.write(session, view.id, "step:1", [Planned(f"person:{people.ids[role]}", "shell",
                                                                f"{role}@example.com", people.ids[role])],
                           f"#{number} {view.title} [{view.severity.value}] is not acknowledged after 5m: "
                           "escalation level 1", container.clock.now())


async def test_a_page_prints_with_its_actions_and_the_closing_notice_follows(container, people, dispatcher):
    assert container.senders["shell"].channel == "shell"
    lead = Session(container, await sign_in(container, "team_lead@example.com"), terminal := FakeTerminal())
    try:
        await container.incidents.declare(people.slack("responder"), "Disk full", severity="critical",
                                          team="payments")
        await page(container, people, "team_lead")
        assert await lead.inbox.check() == 0  # queued, not sent yet
        await dispatcher.drain()
        assert await lead.inbox.check() == 1 and await lead.inbox.check() == 0  # printed once
        [paged] = terminal.texts("page")
        assert "PAGE: #1 Disk full [critical] is not acknowledged after 5m: escalation level 1" in paged
        assert "[1] ack 1  [2] resolve 1" in paged

        await lead.handle("1")  # the page's first action
        await dispatcher.drain()
        await lead.inbox.check()
        assert terminal.texts("reply")[-1] == "#1 acknowledged by Team Lead."
        [notice] = terminal.texts("notice")
        assert notice.startswith("*** #1 Disk full was acknowledged by Team Lead")
    finally:
        await lead.stop()


async def test_a_shell_prints_only_its_persons_pages_sent_since_it_began(container, people, dispatcher, clock):
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await page(container, people, "team_lead")
    await dispatcher.drain()
    clock.advance(minutes=1)
    lead = Session(container, await sign_in(container, "team_lead@example.com"), lead_terminal := FakeTerminal())
    manager = Session(container, await sign_in(container, "manager@example.com"), FakeTerminal())
    try:
        await container.incidents.declare(people.slack("responder"), "Queue stuck", team="payments")
        await page(container, people, "manager", number=2)
        await dispatcher.drain()
        assert await lead.inbox.check() == 0 and lead_terminal.texts("page") == []  # the earlier one, the manager's
        assert await manager.inbox.check() == 1
    finally:
        await lead.stop()
        await manager.stop()


async def test_escalate_typed_in_a_shell_pages_on_the_channels_serve_sends_on(container, people):
    """``escalate 1`` runs the next step in the shell's own process, which sends nothing itself."""
    container.senders.update(notify.sent_by_serve(replace(container.settings, slack_bot_token="xoxb-x")))
    await use_policy(container, "fast", [300], channels=("slack", "telegram"), notify=("role:team_lead",))
    lead = Session(container, await sign_in(container, "team_lead@example.com"), terminal := FakeTerminal())
    try:
        await lead.handle("declare Disk full team:payments")
        await lead.handle("escalate 1")
        assert terminal.texts("reply")[-1].startswith("#1 escalated by Team Lead")
        [planned] = await notifications(container)
        assert (planned.channel, planned.address, planned.status) == ("slack", "UTEAM_LEAD", "PENDING")
    finally:
        await lead.stop()


async def test_a_signed_in_person_is_paged_on_the_shell_and_no_longer_once_they_left(
        container, people, dispatcher, clock):
    escalation = Escalation(container.incidents, container.senders, CHATS)
    await use_policy(container, "shell-only", [60], channels=("shell",), notify=("role:team_lead",))
    lead = Session(container, await sign_in(container, "Team_Lead@example.com"), terminal := FakeTerminal())
    try:
        await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
        clock.advance(seconds=61)
        assert await escalation.run_due() == 1
        await dispatcher.drain()
        [sent] = await notifications(container)
        assert (sent.channel, sent.address, sent.status) == ("shell", "team_lead@example.com", "SENT")
        assert await lead.inbox.check() == 1
        assert "PAGE: #1 Disk full [medium] is not acknowledged after 61s: escalation level 1" in terminal.texts("page")[0]
    finally:
        await lead.stop()

    await container.incidents.declare(people.slack("responder"), "Queue stuck", team="payments")
    clock.advance(seconds=61)
    await escalation.run_due()
    [step] = await steps(container, 2)
    assert step.status == "SKIPPED" and "shell Tocsin may not write to them there now" in step.note


async def test_a_session_keeps_its_person_reachable_when_another_of_theirs_ends(container, people, dispatcher):
    first = Session(container, await sign_in(container, "team_lead@example.com"), FakeTerminal())
    second = Session(container, await sign_in(container, "team_lead@example.com"), FakeTerminal())
    await first.stop()
    assert await reachable_at(container, "team_lead@example.com") is None
    await second.inbox.keep_reachable()  # at its next poll
    assert await reachable_at(container, "team_lead@example.com") is not None
    await second.stop()


async def reachable_at(container, account: str):
    async with container.db.sessions() as session:
        return await session.scalar(select(ChatIdentity.reachable_at).where(
            ChatIdentity.platform == "shell", ChatIdentity.external_id == account))
