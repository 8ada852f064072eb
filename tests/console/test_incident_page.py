"""The incident page /incidents/N (card, timeline, alerts, escalation ledger, notes, a command box taking the
chat's grammar) and the card's actions (snooze, assign to me, severity beside acknowledge, resolve and
escalate), each run through the shared executor as the signed-in person, read-gated as the board is."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

import pytest

from bot.bootstrap import Parts
from tests.console.conftest import csrf_of, post_alerts, press
from tests.escalation.conftest import ticker
from tests.escalation.fakes import RecordingSender
from tests.webhooks.support import AM_TOKEN, FIXTURES


@pytest.fixture
def parts() -> Parts:
    return Parts(http=True, console=True, escalation="ledger")  # incidents get their ledger, as under serve


@pytest.fixture
def fake_senders() -> dict[str, RecordingSender]:
    return {c: RecordingSender(c) for c in ("slack", "telegram", "email")}


@pytest.fixture
def tick(container, clock) -> Callable:
    """Move the clock, run the due escalation steps and deliver the outbox, as ``tocsin serve`` does."""
    return ticker(container, clock)


async def _resolve_first_alert(http) -> None:
    """Alertmanager saying the first of ``post_alerts``'s alerts is resolved (the group still fires)."""
    payload = json.loads((FIXTURES / "001_firing_DBPrimaryDown.json").read_text())
    alert = copy.deepcopy(payload["alerts"][0])
    alert["labels"]["instance"], alert["fingerprint"] = "db0:5432", f"{0:016x}"
    alert["status"], alert["endsAt"] = "resolved", "2026-11-22T11:20:00Z"
    payload["alerts"], payload["groupKey"] = [alert], '{}:{alertname="DBPrimaryDown"}'
    response = await http.post("/webhooks/alertmanager", json=payload, headers={"Authorization": f"Bearer {AM_TOKEN}"})
    assert response.status_code in (200, 202), response.text


def _section(page: str, caption: str) -> str:
    match = re.search(rf"<section[^>]*><h2>{caption}</h2>.*?</section>", page, re.S)
    assert match, f"no {caption} section"
    return match.group(0)


def _rows(section: str) -> list[list[str]]:
    """The table's cells as text (tags dropped), header row excluded."""
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]]


def _reply(page: str) -> tuple[str, str]:
    match = re.search(r'<(?:p|pre) class="reply (ok|error)" role="status">(.*?)</(?:p|pre)>', page, re.S)
    assert match, "no reply on the page"
    return match.group(1), match.group(2)


async def test_the_page_shows_the_card_timeline_alerts_and_escalation_ledger(browser, http, tick):
    await post_alerts(http, count=2)
    assert await tick(minutes=5) == 1  # level 1: the team's channels
    await _resolve_first_alert(http)
    page = await (await browser("observer@example.com")).get("/incidents/1")
    assert page.status_code == 200
    assert '<article class="card open sev-critical" id="incident-1"' in page.text
    assert "<title>Tocsin: #1 Primary Postgres is down</title>" in page.text
    timeline = _rows(_section(page.text, "Timeline"))
    assert [row[2] for row in timeline][:2] == ["declared", "escalated"]
    assert timeline[0][0] == "2026-11-22 03:00:00 UTC" and timeline[0][1] == "alertmanager"
    alerts = _rows(_section(page.text, "Alerts"))
    assert [(row[0], row[1]) for row in alerts] == [("DBPrimaryDown", "firing"), ("DBPrimaryDown", "resolved")]
    assert alerts[1][4] == "2026-11-22 11:20:00 UTC" and alerts[0][4] == "-"
    assert "instance=db1:5432" in alerts[0][6] and "instance=db0:5432" in alerts[1][6]
    ledger = _section(page.text, "Escalation")
    assert "Policy: default, level 1" in ledger
    steps = _rows(ledger)
    assert [(row[0], row[1], row[4]) for row in steps] == [
        ("1", "executed", "team_channel"), ("2", "pending", "role:team_lead"), ("3", "pending", "role:manager")]
    assert steps[0][3] == "2026-11-22 03:05:00 UTC" and steps[1][3] == "-"
    assert "team_channel on slack (CPAYMENTS): sent" in steps[0][6]
    assert "team_channel on telegram (-100200): sent" in steps[0][6]
    assert steps[1][6] == "-"


async def test_the_command_box_runs_the_chat_grammar_as_the_person(browser, http, container):
    await post_alerts(http)
    commander = await browser("incident_commander@example.com")
    csrf = csrf_of((await commander.get("/incidents/1")).text)
    noted = await press(commander, "/incidents/1/command", {"csrf": csrf, "text": "note 1 replica is lagging"}, back="/incidents/1")
    assert _reply(noted.text) == ("ok", "Note added to #1.")
    assert _rows(_section(noted.text, "Notes"))[0][1:] == ["Incident Commander", "replica is lagging"]
    acked = await press(commander, "/incidents/1/command", {"csrf": csrf, "text": "/incident ack 1"}, back="/incidents/1")
    assert _reply(acked.text)[0] == "ok" and "<dd>acknowledged</dd>" in acked.text
    mine = await press(commander, "/incidents/1/command", {"csrf": csrf, "text": "assign 1 @me"}, back="/incidents/1")
    assert _reply(mine.text) == ("ok", "#1 assigned to Incident Commander.") and "<dt>Assignee</dt><dd>Incident Commander</dd>" in mine.text
    wrong = await press(commander, "/incidents/1/command", {"csrf": csrf, "text": "snooze 1 forever"}, back="/incidents/1")
    assert _reply(wrong.text)[0] == "error" and "&#x27;forever&#x27; is not a duration" in wrong.text
    shown = await press(commander, "/incidents/1/command", {"csrf": csrf, "text": "help"}, back="/incidents/1")
    assert "\n  ack &lt;number&gt;\n" in _reply(shown.text)[1]  # several lines, kept
    assert [(e.kind, e.actor_name) for e in await container.queries.timeline(1)][-2:] == [
        ("acknowledged", "Incident Commander"), ("assigned", "Incident Commander")]


async def test_an_observer_reads_the_page_but_their_command_is_refused(browser, http, container):
    await post_alerts(http)
    observer = await browser("observer@example.com")
    csrf = csrf_of((await observer.get("/incidents/1")).text)
    refused = await press(observer, "/incidents/1/command", {"csrf": csrf, "text": "ack 1"}, back="/incidents/1")
    kind, text = _reply(refused.text)
    assert kind == "error" and "observer" in text
    assert (await container.queries.get(1)).status.value == "open"


async def test_an_incident_the_person_may_not_read_is_not_found(browser, http, container, people):
    await post_alerts(http)
    outsider = await browser("outsider@example.com")
    for number in (1, 99):
        page = await outsider.get(f"/incidents/{number}")
        assert page.status_code == 404 and f"There is no incident #{number} you may read." in page.text
        assert "Primary Postgres" not in page.text
    csrf = csrf_of((await outsider.get("/")).text)
    pressed = await outsider.post("/incidents/1/command", data={"csrf": csrf, "text": "note 1 hello"})
    assert pressed.status_code == 404
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared"]


async def test_no_page_without_a_session_and_no_command_without_the_csrf_token(browser, http, container):
    await post_alerts(http)
    assert (await http.get("/incidents/1")).headers["location"] == "/signin"
    responder = await browser("responder@example.com")
    refused = await responder.post("/incidents/1/command", data={"text": "ack 1"})
    assert refused.status_code == 403
    refused = await responder.post("/incidents/1/snooze", data={"csrf": "not-it"})
    assert refused.status_code == 403
    assert (await container.queries.get(1)).status.value == "open"
    assert (await container.queries.get(1)).snoozed_until is None


async def test_board_cards_link_to_their_page(browser, http):
    await post_alerts(http)
    board = (await (await browser("responder@example.com")).get("/")).text
    assert '<h2><a href="/incidents/1">#1 Primary Postgres is down</a></h2>' in board


async def test_snooze_assign_and_severity_from_the_board(browser, http, container, clock):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    csrf = csrf_of((await responder.get("/")).text)
    snoozed = await press(responder, "/incidents/1/snooze", {"csrf": csrf})
    assert _reply(snoozed.text) == ("ok", "#1 snoozed until 2026-11-22 04:00 UTC.")
    assert "Snoozed until" in snoozed.text and 'id="board"' in snoozed.text
    refused = await press(responder, "/incidents/1/assign", {"csrf": csrf})
    assert _reply(refused.text)[0] == "error" and "<dt>Assignee</dt>" not in refused.text  # a commander's to do
    commander = await browser("incident_commander@example.com")
    csrf = csrf_of((await commander.get("/")).text)
    assigned = await press(commander, "/incidents/1/assign", {"csrf": csrf})
    assert "<dt>Assignee</dt><dd>Incident Commander</dd>" in assigned.text
    graded = await press(commander, "/incidents/1/severity", {"csrf": csrf, "severity": "low"})
    assert _reply(graded.text) == ("ok", "#1 severity critical -&gt; low.")
    assert "<dd>low</dd>" in graded.text and '<option value="low" selected>' in graded.text
    unknown = await press(commander, "/incidents/1/severity", {"csrf": csrf, "severity": "dire"})
    assert _reply(unknown.text)[0] == "error"
    assert [(e.kind, e.actor_name) for e in await container.queries.timeline(1)][1:] == [
        ("snoozed", "Responder"), ("refused", "Responder"), ("assigned", "Incident Commander"),
        ("severity_changed", "Incident Commander")]


async def test_a_press_on_the_page_answers_with_the_page(browser, http):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    page = (await responder.get("/incidents/1")).text
    assert 'name="back" value="page"' in page
    acked = await press(responder, "/incidents/1/ack", {"csrf": csrf_of(page), "back": "page"}, back="/incidents/1")
    assert _reply(acked.text)[0] == "ok" and "<h2>Timeline</h2>" in acked.text
    assert [row[2] for row in _rows(_section(acked.text, "Timeline"))][-1] == "acknowledged"


async def test_an_observers_press_is_refused_with_the_reason(browser, http, container):
    await post_alerts(http)
    observer = await browser("observer@example.com")
    csrf = csrf_of((await observer.get("/")).text)
    for path, data in (("snooze", {}), ("assign", {}), ("severity", {"severity": "low"})):
        refused = await press(observer, f"/incidents/1/{path}", {"csrf": csrf, **data})
        assert _reply(refused.text)[0] == "error", path
    view = await container.queries.get(1)
    assert (view.snoozed_until, view.assignee, view.severity.value) == (None, None, "critical")


async def test_a_closed_incidents_page_has_no_actions_but_keeps_its_story(browser, http):
    await post_alerts(http)
    commander = await browser("incident_commander@example.com")
    page = (await commander.get("/incidents/1")).text
    resolved = await press(commander, "/incidents/1/command", {"csrf": csrf_of(page), "text": "resolve 1 failed over"}, back="/incidents/1")
    assert _reply(resolved.text)[0] == "ok"
    again = (await commander.get("/incidents/1")).text
    assert '<article class="card closed' in again and '<div class="actions">' not in again
    assert [row[2] for row in _rows(_section(again, "Timeline"))][-1] == "resolved"
    assert 'action="/incidents/1/command"' in again  # a note for the postmortem still goes in
