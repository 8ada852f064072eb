"""Every command, in the team's group and in a private chat, over the wire to the fake Bot API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import linking
from storage.models import ChatIdentity
from storage.queries import IncidentFilter
from tests.core.test_oncall_commands import PAYMENTS
from tests.escalation.conftest import store_schedules
from tests.fakes.telegram_api import BOT_USERNAME
from tests.telegram.harness import GROUP, user_id

RESPONDER = 1002


def chat_for(where: str, uid: int) -> int:
    return GROUP if where == "group" else uid  # a private chat's id is the user's id


@pytest.fixture(params=["group", "private"])
def where(request) -> str:
    return request.param


async def test_incident_declare_replies_and_posts_the_card_to_the_team_group(bot, people, where):
    chat = chat_for(where, RESPONDER)
    reply = await bot.command(chat, RESPONDER, "/incident declare Checkout <down> sev:high team:payments")
    assert "Declared #1: Checkout <down>" in reply
    cards = [m for m in bot.tg.messages_in(GROUP) if m.reply_markup]
    assert len(cards) == 1
    assert "Incident #1: Checkout <down>" in cards[0].text
    assert [b["text"] for b in cards[0].buttons()] == ["Acknowledge", "Resolve", "Escalate", "Snooze 1h"]


async def test_declare_in_a_team_group_defaults_to_that_team(bot, people):
    await bot.command(GROUP, RESPONDER, "/incident declare Disk full sev:low")
    view = await bot.runtime.container.queries.get(1)
    assert view.team.name == "payments" and view.severity == "low"
    assert any("Incident #1: Disk full" in m.text for m in bot.tg.messages_in(GROUP))


async def test_ack_and_resolve_shortcuts(bot, people, where):
    chat = chat_for(where, RESPONDER)
    await bot.command(chat, RESPONDER, "/incident declare Disk full team:payments")
    assert "#1 acknowledged by Responder" in await bot.command(chat, RESPONDER, "/ack 1")
    assert "already acknowledged by Responder" in await bot.command(chat, RESPONDER, "/ack #1")
    assert "#1 resolved by Responder" in await bot.command(chat, RESPONDER, "/resolve 1 rotated the logs")
    view = await bot.runtime.container.queries.get(1)
    assert view.status == "resolved"


async def test_command_addressed_to_this_bot_works_in_groups(bot, people):
    await bot.command(GROUP, RESPONDER, "/incident declare Disk full team:payments")
    assert "#1 acknowledged" in await bot.command(GROUP, RESPONDER, f"/ack@{BOT_USERNAME} 1")


async def test_command_addressed_to_another_bot_is_ignored(bot, people):
    before = len(bot.tg.calls_to("sendMessage"))
    response = await bot.post(bot.tg.command(GROUP, RESPONDER, "/ack@some_other_bot 1"))
    assert response.status_code == 200
    assert len(bot.tg.calls_to("sendMessage")) == before


async def test_help_lists_the_grammar_and_the_shortcuts(bot, people, where):
    reply = await bot.command(chat_for(where, RESPONDER), RESPONDER, "/help")
    assert "declare <title>" in reply and "/ack <number>" in reply and "/oncall" in reply


async def test_incident_with_no_subcommand_shows_help(bot, people, where):
    assert "Tocsin commands" in await bot.command(chat_for(where, RESPONDER), RESPONDER, "/incident")


@pytest.mark.parametrize("text, expected", [
    ("/ack", "'ack' needs an incident number.\nUsage: /incident ack <number>"),
    ("/ack abc", "'abc' is not an incident number"),
    ("/resolve", "'resolve' needs an incident number"),
    ("/incident frobnicate", "Unknown subcommand 'frobnicate'. Try '/incident help'."),
    ("/incident snooze 1 forever", "Usage: /incident snooze"),
    ("/ack 99", "There is no incident #99."),
])
async def test_bad_input_gets_a_helpful_reply(bot, people, where, text, expected):
    assert expected in await bot.command(chat_for(where, RESPONDER), RESPONDER, text)


async def test_unlinked_user_is_told_how_to_link(bot, people, where):
    stranger = 4242
    chat = chat_for(where, stranger)
    reply = await bot.command(chat, stranger, "/incident declare Something team:payments")
    assert "not linked" in reply and "/incident link" in reply and "tocsin link-code" in reply
    assert "/start CODE" in reply
    _, total = await bot.runtime.container.queries.list(IncidentFilter())
    assert total == 0


async def test_refused_role_is_explained(bot, people, where):
    await bot.command(GROUP, RESPONDER, "/incident declare Disk full team:payments")
    observer = user_id(people, "observer")
    reply = await bot.command(chat_for(where, observer), observer, "/ack 1")
    assert "may not acknowledge; it needs responder or above" in reply
    assert (await bot.runtime.container.queries.get(1)).status == "open"


async def test_oncall_in_the_group_names_who_is_on_call_by_the_team_schedule(bot, people):
    await store_schedules(bot.runtime.container, PAYMENTS)
    reply = await bot.command(GROUP, RESPONDER, "/oncall")
    assert "payments-primary (team payments): responder@example.com is on call now, until Mon 23 Nov 09:00 WET" \
        in reply
    assert "next: team_lead@example.com from Mon 23 Nov 09:00 WET" in reply and "Who can respond" not in reply


async def test_oncall_in_the_group_lists_responders_and_above_by_role_without_a_schedule(bot, people):
    reply = await bot.command(GROUP, RESPONDER, "/oncall")
    assert "Who can respond for payments" in reply and "has no on-call schedule" in reply
    lines = reply.splitlines()
    assert "Manager: Manager" in lines and "Team lead: Team Lead" in lines
    assert "Incident commander: Incident Commander" in lines and "Responder: Responder" in lines
    assert "Observer" not in reply and "Stakeholder" not in reply
    assert lines.index("Manager: Manager") < lines.index("Responder: Responder")


async def test_oncall_in_private_needs_a_team_name(bot, people):
    assert "Usage: /oncall <team>" in await bot.command(RESPONDER, RESPONDER, "/oncall")
    assert "Responder: Responder" in await bot.command(RESPONDER, RESPONDER, "/oncall payments")
    assert "There is no team 'nope'" in await bot.command(RESPONDER, RESPONDER, "/oncall nope")


async def test_start_in_private_greets_a_linked_person_and_allows_direct_messages(bot, people):
    reply = await bot.command(RESPONDER, RESPONDER, "/start")
    assert "Hello Responder" in reply
    async with bot.runtime.container.db.sessions() as session:
        account = await session.scalar(select(ChatIdentity).where(ChatIdentity.platform == "telegram",
                                                                  ChatIdentity.external_id == str(RESPONDER)))
    assert account.reachable_at is not None


async def test_start_with_a_code_links_the_telegram_account(bot, people):
    container = bot.runtime.container
    code = await linking.issue_code(container.db, people.ids["manager"], container.clock.now())
    newcomer = 777001
    assert "not linked" in await bot.command(newcomer, newcomer, "/ack 1")
    assert "Linked: you are Manager" in await bot.command(newcomer, newcomer, f"/start {code}")
    assert "There is no incident #1" in await bot.command(newcomer, newcomer, "/ack 1")
    assert "unknown, used or expired" in await bot.command(newcomer, newcomer, f"/start {code}")


async def test_start_in_a_group_points_to_the_private_chat(bot, people):
    assert "Tocsin is here. This chat serves team payments." in await bot.command(GROUP, RESPONDER, "/start")
    assert "private chat" in await bot.command(GROUP, RESPONDER, "/start ABCDEF12")


async def test_unknown_command_is_answered_in_private_and_ignored_in_groups(bot, people):
    assert "I don't know /frobnicate" in await bot.command(RESPONDER, RESPONDER, "/frobnicate")
    before = len(bot.tg.calls_to("sendMessage"))
    await bot.post(bot.tg.command(GROUP, RESPONDER, "/frobnicate"))
    assert len(bot.tg.calls_to("sendMessage")) == before


async def test_commands_in_a_forum_topic_are_answered_in_that_topic(bot, people):
    await bot.command(GROUP, RESPONDER, "/help", thread_id=77)
    assert bot.tg.calls_to("sendMessage")[-1]["message_thread_id"] == 77


async def test_start_in_an_unbound_group_says_how_to_bind_it(bot, people):
    reply = await bot.command(-100999, RESPONDER, "/start", thread_id=5)
    assert "set telegram_chat: -100999 and telegram_topic: 5 for that team" in reply


async def test_show_posts_a_live_card_that_later_changes_edit(bot, people, where):
    chat = chat_for(where, RESPONDER)
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    await bot.runtime.drain()
    await bot.post(bot.tg.command(chat, RESPONDER, "/incident show 1"))
    shown = bot.tg.last_message(chat)
    assert "Incident #1: Checkout down" in shown.text and shown.button("Acknowledge")
    await bot.runtime.container.incidents.acknowledge(1, people.slack("responder"))
    await bot.runtime.drain()
    assert "Status: acknowledged" in shown.text and shown.edits == 1


async def test_list_replies_with_one_line_per_incident(bot, people, where):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    reply = await bot.command(chat_for(where, RESPONDER), RESPONDER, "/incident list")
    assert "1 open incident" in reply and "#1 Disk full" in reply


async def test_assign_takes_a_text_mention(bot, people):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    commander = user_id(people, "incident_commander")
    reply = await bot.command(GROUP, commander, "/incident assign 1 Manny",
                              mentions={"Manny": user_id(people, "manager")})
    assert "#1 assigned to Manager" in reply
    assert "I can't tell who '@nobody' is" in await bot.command(GROUP, commander, "/incident assign 1 @nobody")


@pytest.mark.parametrize("text, expected", [
    ("/incident note 1 checked the dashboards", "Note added to #1"),
    ("/incident snooze 1 30m", "#1 snoozed until"),
    ("/incident severity 1 critical", "#1 severity medium -> critical"),
    ("/incident escalate 1", "#1 escalated by Incident Commander"),
    ("/incident timeline 1", "Timeline of #1 Disk full"),
    ("/incident stats 7d", "Last 7 days: 1 incidents"),
    ("/incident link", "send /start"),
    ("/incident cancel 1 duplicate", "#1 cancelled by Incident Commander"),
])
async def test_the_rest_of_the_grammar_works_the_same_in_telegram(bot, people, where, text, expected):
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    commander = user_id(people, "incident_commander")
    assert expected in await bot.command(chat_for(where, commander), commander, text)


async def test_incident_oncall_and_an_override_by_text_mention(bot, people):
    from datetime import date, time

    from storage.oncall import Layer, Rule, Schedule
    from tests.escalation.conftest import store_schedules

    await store_schedules(bot.runtime.container, Schedule("payments-primary", "payments", "UTC", (
        Layer("daily", ("responder@example.com",), Rule("daily", at=time(9)), date(2026, 11, 1)),)))
    lead = 1004
    assert "responder@example.com is on call now" in await bot.command(lead, lead, "/incident oncall payments")
    made = await bot.command(lead, lead, "/incident oncall override payments-primary Manager 3h for me",
                             mentions={"Manager": 1005})
    assert ("Override 1: manager@example.com is on call for payments-primary instead of team_lead@example.com "
            "from Sun 22 Nov 03:00 UTC to Sun 22 Nov 06:00 UTC") in made
    now = await bot.command(RESPONDER, RESPONDER, "/incident oncall")
    assert "manager@example.com is on call now, until Sun 22 Nov 06:00 UTC" in now
    refused = await bot.command(RESPONDER, RESPONDER, "/incident oncall cancel 1")
    assert "team_lead or above" in refused
    assert "Override 1 of payments-primary cancelled" in await bot.command(lead, lead, "/incident oncall cancel 1")
    assert "responder@example.com is on call now" in await bot.command(RESPONDER, RESPONDER, "/incident oncall")
