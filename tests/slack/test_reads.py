"""Reading in Slack is gated by the reader's role: list, show, timeline and stats only show teams they
may read; an unlinked user is told how to link."""

from __future__ import annotations

import json
from datetime import date, time

import pytest

from storage.models import ChatIdentity, Person
from storage.oncall import Layer, Rule, Schedule
from tests.escalation.conftest import store_schedules


def seen(answers) -> str:
    """Everything the user reads in the answers: text and blocks."""
    return "\n".join(a["text"] + json.dumps(a.get("blocks", [])) for a in answers)


@pytest.fixture
async def two_teams(slack, people):
    """#1 in payments (declared by its responder), #2 in platform (by the outsider, its team lead)."""
    for text, user in (("Checkout down team:payments", "URESPONDER"), ("Build farm down team:platform", "UOUTSIDER")):
        [answer] = await slack.command(f"declare {text}", user_id=user)
        assert "Declared" in answer["text"], answer


async def test_list_all_shows_only_the_teams_the_reader_has_a_role_in(slack, people, two_teams):
    observer = seen(await slack.command("list all", user_id="UOBSERVER"))
    assert "1 all incident" in observer and "Checkout down" in observer and "Build farm" not in observer
    outsider = seen(await slack.command("list all", user_id="UOUTSIDER"))
    assert "Build farm down" in outsider and "Checkout down" not in outsider
    admin = seen(await slack.command("list all", user_id="UADMIN"))
    assert "2 all incidents" in admin


@pytest.mark.parametrize("text", ["show 1", "timeline 1", "list team payments", "stats 7d payments"])
async def test_reads_of_another_team_are_refused_and_say_why(slack, people, two_teams, text):
    [answer] = await slack.command(text, user_id="UOUTSIDER")
    assert "has no role in team payments" in answer["text"] and "observer or above" in answer["text"], answer
    assert "Checkout down" not in seen([answer])


async def test_stats_count_only_readable_teams(slack, people, two_teams):
    [outsider] = await slack.command("stats", user_id="UOUTSIDER")
    [admin] = await slack.command("stats", user_id="UADMIN")
    assert "1 incidents" in outsider["text"] and "2 incidents" in admin["text"]


@pytest.mark.parametrize("text", ["list all", "list", "show 1", "timeline 1", "stats", "escalate preview 1"])
async def test_an_unlinked_user_reads_nothing_and_is_told_how_to_link(slack, people, two_teams, text):
    [answer] = await slack.command(text, user_id="UNOBODY")
    assert "not linked" in answer["text"] and "config file" in answer["text"], answer
    assert "Checkout down" not in seen([answer]) and "Build farm" not in seen([answer])


async def test_a_linked_person_without_a_role_reads_nothing(slack, people, two_teams, container, clock):
    async with container.db.transaction() as session:
        session.add(Person(name="Loner", email="loner@example.com", created_at=clock.now(), identities=[
            ChatIdentity(platform="slack", external_id="ULONER", reachable_at=clock.now())]))
    [answer] = await slack.command("list all", user_id="ULONER")
    assert "Loner has no role in any team" in answer["text"] and "config file" in answer["text"], answer
    assert "Checkout down" not in seen([answer])


async def test_oncall_in_slack_names_who_is_on_call(slack, people):
    await store_schedules(slack.container, Schedule(
        "payments-primary", "payments", "UTC",
        (Layer("daily", ("team_lead@example.com",), Rule("daily", at=time(9)), date(2026, 11, 1)),)))
    [answer] = await slack.command("oncall", user_id="URESPONDER")
    assert "payments-primary (team payments): team_lead@example.com is on call now" in answer["text"], answer


async def test_an_override_in_slack_puts_the_mentioned_person_on_call(slack, people):
    await store_schedules(slack.container, Schedule(
        "payments-primary", "payments", "UTC",
        (Layer("daily", ("team_lead@example.com",), Rule("daily", at=time(9)), date(2026, 11, 1)),)))
    [refused] = await slack.command("oncall override payments-primary <@UMANAGER|manager> 2h", user_id="URESPONDER")
    assert "team_lead or above" in refused["text"], refused
    [made] = await slack.command("oncall override payments-primary <@UMANAGER|manager> 2h", user_id="UTEAM_LEAD")
    assert ("Override 1: manager@example.com is on call for payments-primary from Sun 22 Nov 03:00 UTC to "
            "Sun 22 Nov 05:00 UTC") in made["text"], made
    [answer] = await slack.command("oncall", user_id="URESPONDER")
    assert "manager@example.com is on call now, until Sun 22 Nov 05:00 UTC" in answer["text"], answer
    [listed] = await slack.command("oncall overrides", user_id="URESPONDER")
    assert "1. payments-primary: manager@example.com" in listed["text"], listed
