"""``/incident maintenance start|list|end`` typed in ``tocsin shell`` (the command is platform-neutral: the
same in Slack and Telegram): the replies, and who may do what."""

from __future__ import annotations

from tests.shell.test_session import open_session, type_

__all__ = ["open_session"]  # the fixture, used by name


async def test_a_team_lead_opens_lists_and_ends_a_window(open_session, clock):
    lead, terminal = await open_session("team_lead")
    await type_(lead, "maintenance start payments 2h db upgrade", "maintenance list")
    opened, listed = terminal.texts("reply")
    assert opened == ("Maintenance window 1 for team payments until 2026-11-22 05:00 UTC: matching alerts open quiet "
                      "incidents and page nobody while it lasts. End it early: /incident maintenance end 1")
    assert listed.splitlines()[1] == "  1. team payments, now until 2026-11-22 05:00 UTC (by Team Lead): db upgrade"
    responder, theirs = await open_session("responder")
    await type_(responder, "maintenance end 1")
    assert "needs team_lead or above" in theirs.texts("reply")[-1]
    await type_(lead, "maintenance end 1", "maintenance list")
    assert terminal.texts("reply")[-2].startswith("Maintenance window 1 for team payments ended")
    assert terminal.texts("reply")[-1].startswith("No maintenance windows now or to come.")


async def test_a_scheduled_window_by_label_needs_an_admin_and_mistakes_say_how_to_fix(open_session):
    lead, terminal = await open_session("team_lead")
    await type_(lead, "maintenance start env=staging 2026-11-23T01:00 2026-11-23T03:00")
    assert "that needs an admin" in terminal.texts("reply")[-1]
    admin, theirs = await open_session("admin")
    await type_(admin, "maintenance start env=staging 2026-11-23T01:00 2026-11-23T03:00 patching",
                "maintenance start payments", "maintenance start 2h", "maintenance end x")
    scheduled, no_time, no_target, no_id = theirs.texts("reply")
    assert scheduled.startswith("Maintenance window 1 for env=staging from 2026-11-23 01:00 UTC to 2026-11-23 03:00 UTC")
    assert "needs how long (2h) or a start and an end time" in no_time and "Usage: /incident maintenance" in no_time
    assert "needs what it covers: a team, service=X, a label=value, or all" in no_target
    assert "needs the window's number" in no_id
    await type_(admin, "help")
    assert "maintenance start <team|service=X|label=value|all>" in theirs.texts("reply")[-1]
