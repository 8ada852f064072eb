"""The acceptance test of issue 16, item 1: a silence created from the Slack card's Silence menu (the fake
Slack API, signed requests) exists in the real Alertmanager with the right matchers, end time and creator;
the next notification for those alerts does not arrive; the card then says "Silenced until ... by ..." and
offers Expire silence, which removes the silence, and the line and the button with it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.bootstrap import Parts
from bot.slack import ids
from storage.clock import FakeClock
from tests.webhooks.test_alertmanager_e2e import (
    READ,
    _alert,
    _now,
    _until,
    alertmanager_binary,  # noqa: F401
)
from tests.webhooks.test_silence_e2e import _open_incident, stack  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def parts() -> Parts:
    """Slack and the HTTP app (webhooks, API) in one process, as ``tocsin serve`` has them."""
    return Parts(http=True, slack=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def _context(blocks) -> str:
    return "\n".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])


def _elements(blocks) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


CUSTOM = {"value": "", "text": {"type": "plain_text", "text": "Custom\u2026"}}


async def _custom_form(slack, card, n: int, user_id: str = "URESPONDER") -> dict:
    """Pick Custom… in the card's Silence menu: the form Slack was asked to open (views.open)."""
    assert await slack.press(card.blocks, ids.SILENCE, user_id=user_id, option={**CUSTOM, "value": f"{n}:custom"}) == []
    call = slack.fake.calls_to("views.open")[-1]
    assert call.args["trigger_id"].startswith("trig.")
    return call.args["view"]


def _form_values(duration: str, comment: str | None = None) -> dict:
    values = {"duration": {"duration": {"type": "plain_text_input", "value": duration}}}
    if comment is not None:
        values["comment"] = {"comment": {"type": "plain_text_input", "value": comment}}
    return values


async def test_silence_from_the_card_holds_back_alerts_and_expire_removes_it(stack, slack, container, people,  # noqa: F811
                                                                             clock):
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        incident = await _open_incident(http, url, am)
        n = incident["number"]
        await slack.settle()
        card = slack.card()
        assert ids.SILENCE in _elements(card.blocks) and ids.UNSILENCE not in _elements(card.blocks)
        assert "Silenced until" not in _context(card.blocks)
        [menu] = [e for b in card.blocks if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == ids.SILENCE]
        assert [o["value"] for o in menu["options"]] == [f"{n}:1h", f"{n}:4h", f"{n}:24h", f"{n}:custom"]
        assert menu["confirm"]

        refused = await slack.press(card.blocks, ids.SILENCE, user_id="USTAKEHOLDER",
                                    option={"value": f"{n}:4h", "text": {"type": "plain_text", "text": "x"}})
        assert "needs responder or above" in refused[0]["text"]
        assert (await http.get(f"{am}/api/v2/silences")).json() == []

        answers = await slack.press(card.blocks, ids.SILENCE, user_id="URESPONDER",
                                    option={"value": f"{n}:4h", "text": {"type": "plain_text", "text": "x"}})
        until = clock.now() + timedelta(hours=4)
        assert [a["response_type"] for a in answers] == ["in_channel"]
        assert f"silenced until {until:%Y-%m-%d %H:%M} UTC by Responder" in answers[0]["text"]
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "active"
        assert silence["createdBy"] == "Responder <responder@example.com>"
        card_now = slack.card().current["blocks"]
        assert ids.UNSILENCE in _elements(card_now)
        assert (f"Silenced until <!date^{int(until.timestamp())}^{{date_short_pretty}} {{time}}|{until:%Y-%m-%d %H:%M} "
                f"UTC> by Responder (silence {silence['id'][:8]}\u2026)") in _context(card_now)
        assert abs(datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) - until) < timedelta(seconds=1)
        assert sorted((m["name"], m["value"], m["isEqual"]) for m in silence["matchers"]) == [
            ("alertname", "HighLatency", True), ("service", "checkout", True), ("severity", "critical", True)]

        # the next notification for those alerts does not arrive
        assert (await http.post(f"{am}/api/v2/alerts", json=[_alert("api3:8080", _now())])).status_code == 200

        async def suppressed():
            return [a for a in (await http.get(f"{am}/api/v2/alerts")).json()
                    if a["labels"]["instance"] == "api3:8080" and a["status"]["state"] == "suppressed"]

        await _until(suppressed, "Alertmanager to hold back the third alert")
        await asyncio.sleep(4)  # two group intervals
        body = (await http.get(f"{url}/api/incidents", headers=READ)).json()
        assert (body["total"], body["incidents"][0]["alerts"]["firing"]) == (1, 2)

        card_now = slack.card().current["blocks"]
        answers = await slack.press(card_now, ids.UNSILENCE, user_id="URESPONDER")
        assert "silence expired by Responder" in answers[0]["text"]
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "expired"
        await slack.settle()
        card_now = slack.card().current["blocks"]
        assert "Silenced until" not in _context(card_now) and ids.UNSILENCE not in _elements(card_now)


async def test_a_custom_silence_from_the_card_asks_for_the_duration_in_a_form(stack, slack, container, people,  # noqa: F811
                                                                              clock):
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
        await slack.settle()
        form = await _custom_form(slack, slack.card(), n)
        assert form["callback_id"] == ids.SILENCE_MODAL and f"#{n}" in form["title"]["text"]
        assert (await http.get(f"{am}/api/v2/silences")).json() == []  # the pick alone silences nothing

        response = await slack.post(slack.requests.view_submission(form, _form_values("90m", "deploy rollback")))
        assert response.status_code == 200 and response.content in (b"", b"{}"), response.text
        await slack.settle()
        until = clock.now() + timedelta(minutes=90)
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "active"
        assert silence["createdBy"] == "Responder <responder@example.com>"
        assert "deploy rollback" in silence["comment"]
        assert abs(datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) - until) < timedelta(seconds=1)
        assert sorted((m["name"], m["value"], m["isEqual"]) for m in silence["matchers"]) == [
            ("alertname", "HighLatency", True), ("service", "checkout", True), ("severity", "critical", True)]
        said = [m.text for m in slack.fake.messages_in("CPAYMENTS")[1:]]
        assert any(f"silenced until {until:%Y-%m-%d %H:%M} UTC by Responder" in t for t in said), said
        card_now = slack.card().current["blocks"]
        assert f"Silenced until <!date^{int(until.timestamp())}^" in _context(card_now)
        assert f"by Responder (silence {silence['id'][:8]}\u2026)" in _context(card_now)
        assert ids.UNSILENCE in _elements(card_now)
        # the same submission delivered again creates nothing more, and says so only to the submitter
        assert (await slack.post(slack.requests.view_submission(form, _form_values("90m")))).status_code == 200
        await slack.settle()
        assert len((await http.get(f"{am}/api/v2/silences")).json()) == 1
        [again] = [e for e in slack.fake.ephemerals if e["user"] == "URESPONDER"]
        assert "nothing was done twice" in again["text"]
        timeline = (await http.get(f"{url}/api/incidents/{n}", headers=READ)).json()["timeline"]
        assert [(e["kind"], e["actor"]) for e in timeline if e["kind"] == "silenced"] == [("silenced", "Responder")]


async def test_a_bad_custom_duration_is_answered_in_the_form_and_silences_nothing(stack, slack, container,  # noqa: F811
                                                                                  people):
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
        await slack.settle()
        form = await _custom_form(slack, slack.card(), n)
        for bad in ("soon", "8d", ""):
            response = await slack.post(slack.requests.view_submission(form, _form_values(bad)))
            assert response.status_code == 200
            answer = response.json()
            assert answer["response_action"] == "errors" and list(answer["errors"]) == ["duration"], answer
            assert "90m" in answer["errors"]["duration"] and "7 days" in answer["errors"]["duration"]
        await slack.settle()
        assert (await http.get(f"{am}/api/v2/silences")).json() == []

        # the role is checked as for the fixed durations: a stakeholder's form is refused, only to them
        form = await _custom_form(slack, slack.card(), n, user_id="USTAKEHOLDER")
        response = await slack.post(slack.requests.view_submission(form, _form_values("2h"), user_id="USTAKEHOLDER"))
        assert response.status_code == 200
        await slack.settle()
        assert (await http.get(f"{am}/api/v2/silences")).json() == []
        [refusal] = [e for e in slack.fake.ephemerals if e["user"] == "USTAKEHOLDER"]
        assert "needs responder or above" in refusal["text"] and refusal["channel"] == "CPAYMENTS"
        assert len(slack.fake.messages_in("CPAYMENTS")) == 1  # the card, nothing said in the channel
