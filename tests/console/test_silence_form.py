"""The incident page's Silence form (issue 16, item 1), against the real Alertmanager: a preview of which
firing alerts match, a Confirm that creates the silence (matchers, end, creator, comment), the card's
"Silenced until ... by ..." line and its Expire silence button, which removes the silence and the line.

Through HTTP as a browser submits the forms (their fields read from the page): the forms are plain HTML
posts, so a real browser would add nothing here."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.bootstrap import Parts
from bot.console import signin
from storage.clock import FakeClock
from tests.console.conftest import follow, press
from tests.webhooks.test_alertmanager_e2e import alertmanager_binary  # noqa: F401
from tests.webhooks.test_silence_e2e import _open_incident, stack  # noqa: F401

pytestmark = pytest.mark.e2e
REPLY = re.compile(r'<(?:p|pre) class="reply (ok|error)" role="status">(.*?)</(?:p|pre)>', re.S)


@pytest.fixture
def parts() -> Parts:
    """The console beside the webhooks and the API, as ``tocsin serve`` has them."""
    return Parts(http=True, console=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def form(page: str, action: str) -> dict[str, str]:
    """The fields a browser sends with the form posting to ``action`` (its inputs and selected options)."""
    found = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert found, f"no form to {action}"
    fields = {m[0]: html.unescape(m[1]) for m in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"',
                                                           found[1])}
    for name, options in re.findall(r'<select name="(\w+)">(.*?)</select>', found[1], re.S):
        fields[name] = re.search(r'<option value="([^"]+)" selected>', options)[1]
    return fields


def replies(page: str) -> list[tuple[str, str]]:
    return [(kind, html.unescape(text)) for kind, text in REPLY.findall(page)]


async def signed_in(url: str, container, email: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=url, timeout=5)
    await follow(c, await signin.login_link(container, email))
    return c


async def test_silence_form_previews_confirms_shows_the_line_and_expires(stack, container, people, clock):  # noqa: F811
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
    page_path = f"/incidents/{n}"
    responder = await signed_in(url, container, "responder@example.com")
    observer = await signed_in(url, container, "observer@example.com")
    try:
        page = (await responder.get(page_path)).text
        assert "Silenced until" not in page and "Expire silence" not in page
        fields = {**form(page, f"{page_path}/silence"), "comment": "deploy in progress"}
        assert fields["duration"] == "4h"

        theirs = {**form((await observer.get(page_path)).text, f"{page_path}/silence"), "comment": "x"}
        refused = await press(observer, f"{page_path}/silence", theirs, back=page_path)
        [(kind, text)] = replies(refused.text)
        assert kind == "error" and "needs responder or above" in text

        preview = await responder.post(f"{page_path}/silence", data=fields)
        assert preview.status_code == 200
        [(kind, text)] = replies(preview.text)
        assert kind == "ok" and "2 firing alerts match now" in text and "instance=api1:8080" in text
        assert 'matchers alertname="HighLatency", service="checkout", severity="critical"' in text
        assert "Confirm silence 4h" in preview.text and f'href="{page_path}"' in preview.text  # or Cancel
        assert (await http_get(am, "/api/v2/silences")) == []  # a preview creates nothing

        done = await press(responder, f"{page_path}/silence", form(preview.text, f"{page_path}/silence"),
                           back=page_path)
        until = clock.now() + timedelta(hours=4)
        [(kind, text)] = replies(done.text)
        assert kind == "ok" and f"silenced until {until:%Y-%m-%d %H:%M} UTC by Responder" in text
        [silence] = await http_get(am, "/api/v2/silences")
        assert silence["status"]["state"] == "active"
        assert silence["createdBy"] == "Responder <responder@example.com>"
        assert silence["comment"] == f"Tocsin #{n}: deploy in progress"
        assert abs(datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) - until) < timedelta(seconds=1)
        assert sorted((m["name"], m["value"]) for m in silence["matchers"]) == [
            ("alertname", "HighLatency"), ("service", "checkout"), ("severity", "critical")]
        shown = re.sub(r"<[^>]+>", "", done.text)
        assert f"Silenced until {until:%Y-%m-%d %H:%M} UTC by Responder (silence {silence['id'][:8]}\u2026)" in shown
        assert "Expire silence" in done.text
        board = re.sub(r"<[^>]+>", "", (await responder.get("/")).text)  # the board's card says it too
        assert f"by Responder (silence {silence['id'][:8]}\u2026)" in board

        expired = await press(responder, f"{page_path}/unsilence", form(done.text, f"{page_path}/unsilence"),
                              back=page_path)
        assert replies(expired.text) == [("ok", f"#{n}: silence expired by Responder; its alerts notify again.")]
        [silence] = await http_get(am, "/api/v2/silences")
        assert silence["status"]["state"] == "expired"
        assert "Silenced until" not in expired.text and "Expire silence" not in expired.text
    finally:
        await responder.aclose()
        await observer.aclose()


async def test_a_duration_the_form_does_not_offer_is_refused_with_the_choices(stack, container, people):  # noqa: F811
    url, am = stack
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
    responder = await signed_in(url, container, "responder@example.com")
    try:
        page = (await responder.get(f"/incidents/{n}")).text
        fields = {**form(page, f"/incidents/{n}/silence"), "duration": "forever"}
        answer = await press(responder, f"/incidents/{n}/silence", fields, back=f"/incidents/{n}")
        [(kind, text)] = replies(answer.text)
        assert kind == "error" and "one of 1h, 4h, 24h" in text
        assert await http_get(am, "/api/v2/silences") == []
    finally:
        await responder.aclose()


async def http_get(base: str, path: str):
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(f"{base}{path}")).json()
