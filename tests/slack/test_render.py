"""The card renderer is pure: an IncidentView in, Block Kit out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.commands.reply import Reply
from bot.slack import ids
from bot.slack.render import render_card, render_card_actions, render_reply, render_timeline_line
from storage.states import Severity, Status
from storage.views import Account, AlertView, IncidentView, Link, PersonRef, Room, TeamRef

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def view(**changes) -> IncidentView:
    base = IncidentView(
        id=7, number=42, title="Checkout 5xx", description=None, status=Status.OPEN, severity=Severity.HIGH,
        service="checkout", team=TeamRef(1, "payments", {"slack": Room("CPAYMENTS")}), labels={}, dedup_key=None, source="webhook",
        created_by=None, assignee=None, acknowledged_by=None, resolved_by=None, created_at=T0,
        acknowledged_at=None, resolved_at=None, updated_at=T0, snoozed_until=None, escalation_policy=None,
        escalation_level=0)
    return replace(base, **changes)


def actions(v: IncidentView) -> list[str]:
    return [e["action_id"] for b in render_card_actions(v) for e in b["elements"]]


@pytest.mark.parametrize("status,expected", [
    (Status.OPEN, [ids.ACKNOWLEDGE, ids.RESOLVE, ids.ESCALATE, ids.SNOOZE]),
    (Status.ESCALATING, [ids.ACKNOWLEDGE, ids.RESOLVE, ids.ESCALATE, ids.SNOOZE]),
    (Status.ACKNOWLEDGED, [ids.RESOLVE, ids.SNOOZE]),
    (Status.RESOLVED, []),
    (Status.CANCELLED, []),
])
def test_buttons_follow_the_status(status, expected):
    assert actions(view(status=status)) == expected


def test_buttons_carry_versioned_ids_and_the_incident_number():
    [block] = render_card_actions(view())
    assert block["block_id"] == f"{ids.ACTIONS_BLOCK}:42:{int(T0.timestamp() * 1000)}-open-0"
    assert {e.get("value") for e in block["elements"] if e["type"] == "button"} == {"42"}
    menu = block["elements"][-1]
    assert [o["value"] for o in menu["options"]] == ["42:30m", "42:1h", "42:2h", "42:4h"]


def test_the_version_changes_with_the_incident():
    [a] = render_card_actions(view())
    [b] = render_card_actions(view(updated_at=T0 + timedelta(seconds=1)))
    [c] = render_card_actions(view(status=Status.ESCALATING, escalation_level=1))
    assert len({a["block_id"], b["block_id"], c["block_id"]}) == 3


def test_the_card_shows_what_who_and_when():
    lead = PersonRef(3, "Lee <Lead>", accounts={"slack": Account("ULEAD")})
    card = render_card(view(status=Status.RESOLVED, acknowledged_by=lead, acknowledged_at=T0 + timedelta(minutes=4),
                            resolved_by=lead, resolved_at=T0 + timedelta(minutes=30)))
    text = str(card["blocks"])
    assert card["text"] == "#42 [high] Checkout 5xx (resolved)"
    assert "*Severity*" in text and "*Service*\\ncheckout" in text and "*Team*\\npayments" in text
    assert "Acknowledged by Lee &lt;Lead&gt; <!date^" in text and "|2026-11-22 03:04 UTC>" in text
    assert "Resolved by Lee &lt;Lead&gt;" in text and "<@" not in text


def test_alert_counts_and_truncation():
    alerts = tuple(AlertView(f"f{i}", "firing", f"Alert{i}", "", {}, T0, None, 1, T0) for i in range(5))
    card = render_card(view(alerts_firing=5, alerts_resolved=2, truncated_alerts=30, alerts=alerts))
    text = str(card["blocks"])
    assert "5 firing, 2 resolved (+30 more)" in text
    assert "• Alert0 (firing)" in text and "+32 more" in text


def test_links_from_annotations():
    card = render_card(view(links=(Link("Runbook", "https://wiki/rb"), Link("Source", "http://prom/graph?g0=x"))))
    assert "<https://wiki/rb|Runbook> | <http://prom/graph?g0=x|Source>" in str(card["blocks"])


def test_timeline_lines_name_the_actor_without_mentioning():
    assert render_timeline_line("acknowledged", "Ann", "telegram", None) == "Acknowledged by *Ann* (telegram)"
    assert render_timeline_line("note", "Ann", "slack", "<@UOTHER> look") == "*Ann* (slack): &lt;@UOTHER&gt; look"


def test_errors_are_ephemeral_and_changes_in_channel():
    assert render_reply(Reply.fail("nope"))["response_type"] == "ephemeral"
    assert render_reply(Reply("done", ephemeral=False))["response_type"] == "in_channel"
    assert render_reply(Reply("done", ephemeral=False), quiet=True)["response_type"] == "ephemeral"
