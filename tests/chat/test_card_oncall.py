"""The card names who is on call for the incident's team (issue 15 item 4), on every platform, and a card
edit after a handoff names the new person. The fake clock starts on Sunday 2026-11-22 at 03:00 UTC."""

from __future__ import annotations

from dataclasses import replace

from bot.commands.execute import run_text
from tests.chat.test_card_sync import declare
from tests.escalation.conftest import store_schedules
from tests.escalation.test_oncall_targets import SCHEDULE  # the responder until 03:10, then the team lead


def on_call(card: str) -> str | None:
    """The card's on-call line without its label: "On call: X" (Telegram, the shell), or Slack's field
    ("*On call*" above "X"); None when the card has none."""
    lines = card.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("On call: "):
            return line.strip().removeprefix("On call: ")
        if line.strip() == "*On call*":
            return lines[i + 1].strip()
    return None


async def test_the_card_names_the_person_on_call_and_after_a_handoff_the_next_one(chat, people, container, clock):
    await store_schedules(container, SCHEDULE)
    await declare(chat, container.incidents, people)
    [card] = chat.cards_in_home()
    assert on_call(card) == "Responder (payments-primary, until Sun 03:10)"

    clock.advance(minutes=15)  # 03:15: the team lead's day, until tomorrow's 03:10
    await container.incidents.acknowledge(1, people.slack("responder"))
    await chat.settle()
    [card] = chat.cards_in_home()
    assert on_call(card) == "Team Lead (payments-primary, until Mon 03:10)"


async def test_an_override_is_named_and_a_team_without_a_schedule_gets_no_line(chat, people, container, clock):
    await store_schedules(container, replace(SCHEDULE, team="platform", name="platform-primary"))
    await declare(chat, container.incidents, people)
    assert on_call(chat.cards_in_home()[0]) is None  # payments has no schedule

    await store_schedules(container, SCHEDULE)
    clock.advance(seconds=2)  # every process takes up an applied config within 2 s (docs/oncall.md)
    made = await run_text(container, people.slack("team_lead"), "oncall override payments-primary manager@example.com 1h")
    assert not made.error, made.text
    await container.incidents.add_note(1, people.slack("responder"), "looking")
    await chat.settle()
    assert on_call(chat.cards_in_home()[0]) == "Manager (payments-primary, until Sun 04:00)"
