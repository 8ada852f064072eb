"""Silence at the source from a Telegram card (issue 16, item 1), against the real Alertmanager: Silence 4h
previews under the card which firing alerts match, Confirm creates the silence (matchers, end, creator), the
card then says "Silenced until ... by ..." and offers Expire silence, which removes it and the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.bootstrap import Parts
from bot.telegram.callback import SILENCE_CONFIRMS, CallbackCodec
from storage.clock import FakeClock
from tests.fakes.telegram_api import FakeMessage
from tests.telegram.harness import GROUP, user_id
from tests.telegram.test_buttons import press
from tests.webhooks.test_alertmanager_e2e import alertmanager_binary  # noqa: F401
from tests.webhooks.test_silence_e2e import _open_incident, stack  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def parts() -> Parts:
    """Telegram and the HTTP app (webhooks, API) in one process, as ``tocsin serve`` has them."""
    return Parts(http=True, telegram=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


async def _card(bot, tg, n: int) -> FakeMessage:
    await bot.runtime.drain()
    [card] = [m for m in tg.messages_in(GROUP) if f"Incident #{n}" in m.text]
    return card


def _labels(message: FakeMessage) -> list[str]:
    return [b["text"] for b in message.buttons()]


async def test_telegram_silence_buttons_preview_confirm_and_expire(stack, bot, tg, people, clock):  # noqa: F811
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
        card = await _card(bot, tg, n)
        assert {"Silence 1h", "Silence 4h", "Silence 24h"} <= set(_labels(card))
        assert "Expire silence" not in _labels(card) and "Silenced until" not in card.text

        # a stakeholder may not even preview: the same role as the command
        refused = await press(bot, card, user_id(people, "stakeholder"), card.button("Silence 4h")["callback_data"])
        assert refused["show_alert"] and "needs responder or above" in refused["text"]

        responder = user_id(people, "responder")
        answer = await press(bot, card, responder, card.button("Silence 4h")["callback_data"])
        assert "preview is under the card" in answer["text"] and not answer.get("show_alert")
        preview = tg.last_message(GROUP)
        assert 'matchers alertname="HighLatency", service="checkout", severity="critical"' in preview.text
        assert "2 firing alerts match now" in preview.text and "instance=api1:8080" in preview.text
        assert _labels(preview) == ["Confirm silence 4h", "Cancel"]
        assert (await http.get(f"{am}/api/v2/silences")).json() == []  # a preview creates nothing

        # a confirmation signed for another chat is refused before the core: it sits on no card to check
        elsewhere = CallbackCodec(tg.token).encode(SILENCE_CONFIRMS["4h"], n, GROUP - 1)
        assert "another chat" in (await press(bot, preview, responder, elsewhere))["text"]
        assert (await http.get(f"{am}/api/v2/silences")).json() == []

        done = await press(bot, preview, responder, preview.button("Confirm silence 4h")["callback_data"])
        until = clock.now() + timedelta(hours=4)
        assert f"silenced until {until:%Y-%m-%d %H:%M} UTC by Responder" in done["text"]
        assert f"silenced until {until:%Y-%m-%d %H:%M} UTC by Responder" in preview.text
        assert preview.buttons() == []  # nothing more to confirm
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "active"
        assert silence["createdBy"] == "Responder <responder@example.com>"
        assert abs(datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) - until) < timedelta(seconds=1)
        assert sorted((m["name"], m["value"], m["isEqual"]) for m in silence["matchers"]) == [
            ("alertname", "HighLatency", True), ("service", "checkout", True), ("severity", "critical", True)]

        await bot.runtime.drain()
        assert f"Silenced until {until:%H:%M UTC %d %b} by Responder (silence {silence['id'][:8]}\u2026)" in card.text
        assert "Expire silence" in _labels(card)

        expired = await press(bot, card, responder, card.button("Expire silence")["callback_data"])
        assert "silence expired by Responder" in expired["text"]
        [silence] = (await http.get(f"{am}/api/v2/silences")).json()
        assert silence["status"]["state"] == "expired"
        await bot.runtime.drain()
        assert "Silenced until" not in card.text and "Expire silence" not in _labels(card)


async def test_cancel_under_a_preview_creates_nothing(stack, bot, tg, people):  # noqa: F811
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
        card = await _card(bot, tg, n)
        responder = user_id(people, "responder")
        await press(bot, card, responder, card.button("Silence 1h")["callback_data"])
        preview = tg.last_message(GROUP)
        assert _labels(preview) == ["Confirm silence 1h", "Cancel"]
        answer = await press(bot, preview, responder, preview.button("Cancel")["callback_data"])
        assert answer["text"] == "Cancelled: nothing was silenced."
        assert "Not silenced" in preview.text and preview.buttons() == []
        assert (await http.get(f"{am}/api/v2/silences")).json() == []


async def test_the_silence_line_goes_at_the_first_card_edit_after_the_silence_ends(stack, bot, tg, people,  # noqa: F811
                                                                                   clock):
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
    card = await _card(bot, tg, n)
    responder = user_id(people, "responder")
    await press(bot, card, responder, card.button("Silence 1h")["callback_data"])
    preview = tg.last_message(GROUP)
    await press(bot, preview, responder, preview.button("Confirm silence 1h")["callback_data"])
    await bot.runtime.drain()
    assert "Silenced until" in card.text and "Expire silence" in _labels(card)

    clock.advance(minutes=59)
    await bot.command(GROUP, responder, f"/incident note {n} still running")
    await bot.runtime.drain()
    assert "Silenced until" in card.text  # not over yet

    clock.advance(minutes=2)  # the silence has ended; the card changes again
    await bot.command(GROUP, responder, f"/incident note {n} over now")
    await bot.runtime.drain()
    assert "Silenced until" not in card.text and "Expire silence" not in _labels(card)
