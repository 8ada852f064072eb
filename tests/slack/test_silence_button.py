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
        assert [o["value"] for o in menu["options"]] == [f"{n}:1h", f"{n}:4h", f"{n}:24h"] and menu["confirm"]

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
