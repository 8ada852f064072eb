"""How a press answers (Post/Redirect/Get): a 303 to the page it came from, which shows the answer once,
from a short-lived cookie sealed with the session's CSRF token; a reload reads the page and runs nothing."""

from __future__ import annotations

import random
import re

from starlette.requests import Request

from bot.commands.reply import Reply
from bot.console import flash
from bot.console.flash import COOKIE, CUT
from tests.console.conftest import csrf_of, post_alerts, press

REPLY = re.compile(r'<(?:p|pre) class="reply (ok|error)" role="status">(.*?)</(?:p|pre)>', re.S)


def _replies(page: str) -> list[tuple[str, str]]:
    return REPLY.findall(page)


async def test_a_reload_after_a_press_runs_nothing_again_and_shows_the_answer_once(browser, http, container):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    pressed = await responder.post("/incidents/1/ack", data={"csrf": csrf_of((await responder.get("/")).text)})
    assert (pressed.status_code, pressed.headers["location"]) == (303, "/")  # no answer in a URL to repeat
    assert _replies(pressed.text) == []
    shown = await responder.get("/")
    assert _replies(shown.text) == [("ok", "#1 acknowledged by Responder.")]
    for _ in range(2):  # the browser's reload: a GET of the page the press led to
        again = await responder.get("/")
        assert again.status_code == 200 and _replies(again.text) == []
    kinds = [e.kind for e in await container.queries.timeline(1)]
    assert kinds == ["declared", "acknowledged"]


async def test_a_reload_of_the_page_after_a_command_adds_no_second_note(browser, http, container):
    await post_alerts(http)
    commander = await browser("incident_commander@example.com")
    csrf = csrf_of((await commander.get("/incidents/1")).text)
    noted = await press(commander, "/incidents/1/command", {"csrf": csrf, "text": "note 1 replica lagging"},
                        back="/incidents/1")
    assert _replies(noted.text) == [("ok", "Note added to #1.")]
    for _ in range(2):
        again = await commander.get("/incidents/1")
        assert _replies(again.text) == [] and again.text.count("replica lagging") == 2  # the timeline, the notes
    assert [e.kind for e in await container.queries.timeline(1)].count("note") == 1


async def test_a_refused_press_answers_the_same_way_with_its_reason(browser, http, container):
    await post_alerts(http)
    observer = await browser("observer@example.com")
    refused = await press(observer, "/incidents/1/ack", {"csrf": csrf_of((await observer.get("/")).text)})
    [(kind, text)] = _replies(refused.text)
    assert kind == "error" and "observer" in text
    assert _replies((await observer.get("/")).text) == []
    assert (await container.queries.get(1)).status.value == "open"


async def test_the_answer_cookie_is_httponly_strict_short_lived_and_shows_escaped_text(browser, http):
    await post_alerts(http)
    commander = await browser("incident_commander@example.com")
    csrf = csrf_of((await commander.get("/")).text)
    pressed = await commander.post("/incidents/1/severity", data={"csrf": csrf, "severity": "<b>dire</b>"})
    [cookie] = [h.lower() for h in pressed.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=60" in cookie and "path=/" in cookie
    assert "dire" not in cookie  # compressed and sealed, not the text as it reads
    shown = (await commander.get("/")).text
    [(kind, text)] = _replies(shown)
    assert kind == "error" and "&#x27;&lt;b&gt;dire&lt;/b&gt;&#x27;" in text and "<b>dire" not in shown


async def test_an_answer_shows_only_in_its_own_session_and_unaltered(browser, http):
    await post_alerts(http)
    responder, lead = await browser("responder@example.com"), await browser("team_lead@example.com")
    pressed = await responder.post("/incidents/1/snooze", data={"csrf": csrf_of((await responder.get("/")).text)})
    sealed = pressed.cookies[COOKIE]
    lead.cookies.set(COOKIE, sealed)  # another session's answer (a cookie tossed from elsewhere)
    assert _replies((await lead.get("/")).text) == []
    payload, _, mac = sealed.rpartition(".")
    responder.cookies.set(COOKIE, f"{payload[:-4]}AAAA.{mac}")
    assert _replies((await responder.get("/")).text) == []
    responder.cookies.set(COOKIE, "not-a-seal")
    assert (await responder.get("/")).status_code == 200


async def test_an_answer_waits_for_the_page_it_was_meant_for(browser, http):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    page = (await responder.get("/incidents/1")).text
    pressed = await responder.post("/incidents/1/ack", data={"csrf": csrf_of(page), "back": "page"})
    assert pressed.headers["location"] == "/incidents/1"
    assert _replies((await responder.get("/")).text) == []  # not the board's: gone, not shown there
    assert _replies((await responder.get("/incidents/1")).text) == []



def test_a_long_answer_is_cut_to_fit_a_cookie_and_says_so():
    """No console answer is this long today (a timeline answers with the page's own table): the limit
    keeps a future one from being dropped by the browser, answer and all."""
    scribbles = random.Random(14)
    for text in ("x" * 5000, "".join(chr(scribbles.randrange(0x4E00, 0x9FFF)) for _ in range(3000))):
        sealed = flash.answer("/incidents/1", Reply(text), "the-session-csrf", secure=False)
        [cookie] = sealed.headers.getlist("set-cookie")
        assert len(cookie) < 4000  # what browsers keep of one cookie, with its name and attributes
        value = cookie.split(";")[0].split("=", 1)[1].strip('"')
        request = Request({"type": "http", "path": "/incidents/1", "headers": [(b"cookie", f"{COOKIE}={value}".encode())]})
        shown = flash.take(request, "the-session-csrf")
        assert shown.text.endswith(CUT) and text.startswith(shown.text.removesuffix(CUT))
        assert flash.take(request, "another-session-csrf") is None
