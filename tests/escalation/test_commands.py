"""/incident policy, escalate preview and prefs, through the shared executor."""

from __future__ import annotations

from bot.commands.execute import run_text
from tests.escalation.conftest import notifications, use_policy


async def test_policy_shows_the_default_for_a_team_without_one(container, people, paging):
    reply = await run_text(container, people.slack("responder"), "policy payments")
    assert not reply.error
    assert "'default'" in reply.text and "after 5m: team_channel via slack, telegram" in reply.text
    assert "after 60m: role:manager via slack, telegram, shell, console, email" in reply.text


async def test_policy_shows_the_team_setting(container, people, paging):
    await use_policy(container, "fast", [30, 90])
    reply = await run_text(container, people.slack("responder"), "policy")  # the asker's own team
    assert "Team payments escalates with policy 'fast' (set for the team)" in reply.text
    assert "after 30s" in reply.text and "after 90s" in reply.text


async def test_escalate_preview_shows_who_is_paged_when(container, people, paging, tick):
    await container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    await tick(minutes=5)
    reply = await run_text(container, people.slack("responder"), "escalate preview 1")
    assert not reply.error and reply.incident.number == 1
    lines = reply.text.splitlines()
    assert lines[1].startswith("  level 1: executed at 03:05:00 UTC")
    assert "in 10m" in lines[2] and "Team Lead (slack)" in lines[2] and "telegram Tocsin may not write to them there now" in lines[2]
    assert "Manager (slack)" in lines[3] and "Manager (email)" in lines[3]
    assert len(await notifications(container)) == 2  # a preview pages nobody


async def test_prefs_shows_and_changes_channels(container, people, paging):
    actor = people.slack("team_lead")
    shown = await run_text(container, actor, "prefs")
    assert "you accept pages on: slack, telegram, shell, console, email, webhook." in shown.text
    changed = await run_text(container, actor, "prefs slack off")
    assert "accept pages on: telegram, shell, console, email, webhook; not on: slack." in changed.text
    assert "slack" not in (await run_text(container, actor, "prefs")).text.split(";")[0]
    bad = await run_text(container, actor, "prefs pager on")
    assert bad.error and "prefs email off" in bad.text


async def test_refusing_every_channel_is_not_allowed(container, people, paging):
    actor = people.slack("manager")
    for channel in ("slack", "telegram", "shell", "console", "email"):
        await run_text(container, actor, f"prefs {channel} off")
    last = await run_text(container, actor, "prefs webhook off")
    assert last.error and "at least one channel" in last.text
