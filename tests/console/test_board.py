"""The board at /: the open incidents a person may read, as cards from the chat cards' view, with the
actions that fit their status going through the core as that person."""

from __future__ import annotations

import copy
import re

from tests.console.conftest import csrf_of, post_alerts, press
from tests.escalation.conftest import store_schedules
from tests.escalation.test_oncall_targets import SCHEDULE


def _card(page: str, number: int) -> str:
    match = re.search(rf'<article [^>]*id="incident-{number}".*?</article>', page, re.S)
    assert match, f"no card #{number} on the board"
    return match.group(0)


def _buttons(card: str) -> list[str]:
    return re.findall(r'<button type="submit" class="\w+">([^<]+)</button>', card)


async def test_a_card_shows_what_the_chat_card_shows(browser, http, clock):
    await post_alerts(http, count=7)
    clock.advance(hours=2, minutes=5)
    card = _card((await (await browser("responder@example.com")).get("/")).text, 1)
    for shown in ("#1 Primary Postgres is down", "<dd>critical</dd>", "<dd>open</dd>", "<dd>payments-db</dd>", "<dd>payments</dd>",
                  "7 firing, 0 resolved", '<li class="more">+2 more</li>', "Declared by webhook, open for 2 h 5 min",
                  '<a href="https://runbooks.example/db-primary-down" rel="noopener noreferrer">Runbook</a>',
                  '>Source</a>'):
        assert shown in card, shown
    assert card.count("<li>") == 5
    assert _buttons(card) == ["Acknowledge", "Resolve", "Escalate", "Snooze 1h", "Assign to me", "Set severity"]


async def test_pressing_acknowledge_then_resolve_changes_the_card_then_takes_it_off(browser, http):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    acked = await press(responder, "/incidents/1/ack", {"csrf": csrf_of((await responder.get("/")).text)})
    assert 'class="reply ok"' in acked.text and "#1" in re.search(r'<p class="reply ok".*?</p>', acked.text).group(0)
    card = _card(acked.text, 1)
    assert "<dd>acknowledged</dd>" in card and "Acknowledged by Responder at" in card
    assert _buttons(card) == ["Resolve", "Snooze 1h", "Assign to me", "Set severity"]
    resolved = await press(responder, "/incidents/1/resolve", {"csrf": csrf_of(acked.text)})
    assert 'id="incident-1"' not in resolved.text and "No open incidents." in resolved.text


async def test_escalate_goes_through_the_core(browser, http, container):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    pressed = await press(responder, "/incidents/1/escalate", {"csrf": csrf_of((await responder.get("/")).text)})
    assert '<p class="reply ok" role="status">#1 escalated by Responder.</p>' in pressed.text
    assert [(e.kind, e.actor_name) for e in await container.queries.timeline(1)][-1] == ("escalated", "Responder")


async def test_an_unknown_action_is_not_found(browser, http):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    pressed = await responder.post("/incidents/1/reopen", data={"csrf": csrf_of((await responder.get("/")).text)})
    assert pressed.status_code == 404


async def test_a_person_sees_only_the_teams_they_hold_a_role_in(browser, http, container, people):
    await post_alerts(http)
    await container.incidents.declare(people.slack("outsider"), "Queue stuck", team="platform")
    assert [n for n in re.findall(r'id="incident-(\d+)"', (await (await browser("outsider@example.com")).get("/")).text)] == ["2"]
    assert re.findall(r'id="incident-(\d+)"', (await (await browser("admin@example.com")).get("/")).text) == ["2", "1"]


async def test_what_people_typed_is_escaped(browser, container, people):
    await container.incidents.declare(people.slack("responder"), "<script>alert(1)</script>", team="payments")
    page = (await (await browser("responder@example.com")).get("/")).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_every_asset_is_served_by_tocsin(browser, container, people):
    page = (await (await browser("responder@example.com")).get("/")).text
    assets = re.findall(r'<(?:script|link)[^>]* (?:src|href)="([^"]+)"', page)
    assert assets == ["/console/console.css", "/console/board.js"]
    for path, kind in zip(assets, ("text/css", "text/javascript"), strict=True):
        served = await (await browser("observer@example.com")).get(path)
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind) and served.text


async def test_a_grafana_card_shows_the_description_and_the_silence_panel_and_dashboard_links(browser, http):
    from tests.webhooks.support import AM
    from tests.webhooks.test_sources import GRAFANA_FIRING

    body = copy.deepcopy(GRAFANA_FIRING)
    body["alerts"][0]["annotations"]["description"] = "web1 has been above 90% CPU for 5 minutes"
    assert (await http.post("/webhooks/alertmanager", json=body, headers=AM)).status_code == 200
    card = _card((await (await browser("responder@example.com")).get("/")).text, 1)
    assert '<p class="description">web1 has been above 90% CPU for 5 minutes</p>' in card
    for url, label in (("http://grafana.local/alerting/silence/new", "Silence"),
                       ("http://grafana.local/d/abc?viewPanel=2", "Panel"), ("http://grafana.local/d/abc", "Dashboard")):
        assert f'<a href="{url}" rel="noopener noreferrer">{label}</a>' in card, label


async def test_a_card_names_who_is_on_call_for_its_team_at_the_time_the_board_is_shown(browser, http, container,
                                                                                       clock):
    await store_schedules(container, SCHEDULE)  # the responder until 03:10, then the team lead
    await post_alerts(http)
    board = await browser("responder@example.com")
    assert "<dt>On call</dt><dd>Responder (payments-primary, until Sun 03:10)</dd>" in _card((await board.get("/")).text, 1)
    clock.advance(minutes=15)
    assert "<dt>On call</dt><dd>Team Lead (payments-primary, until Mon 03:10)</dd>" in _card((await board.get("/")).text, 1)
