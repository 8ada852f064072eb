"""Signing in to the console: one-time links, sessions, cookies, CSRF, sign-out, and acting as oneself."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, select

from bot.console import signin
from bot.console.routes import COOKIE
from storage.models import ChatIdentity, ConsoleLogin, ConsoleSession, Membership
from tests.asgi import client
from tests.console.conftest import csrf_of, follow, login_form, post_alerts, press


async def test_no_console_page_is_served_without_a_session(http):
    for method, path in (("GET", "/"), ("GET", "/events"), ("POST", "/incidents/1/ack"), ("POST", "/signout")):
        response = await http.request(method, path)
        assert (response.status_code, response.headers["location"]) == (303, "/signin"), path
    page = await http.get("/signin")
    assert page.status_code == 200 and "tocsin login-link EMAIL" in page.text
    http.cookies.set(COOKIE, "not-a-session")
    assert (await http.get("/")).status_code == 303


async def test_a_link_signs_in_once_and_is_kept_only_as_a_hash(container, http, app):
    link = await signin.login_link(container, "responder@example.com")
    assert link.startswith("http://127.0.0.1:8080/login/")
    token = link.rsplit("/", 1)[1]
    signed_in = await follow(http, link)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
    board = await http.get("/")
    assert board.status_code == 200 and "Signed in as Responder" in board.text
    async with container.db.sessions() as session:
        (login,) = (await session.scalars(select(ConsoleLogin))).all()
        (kept,) = (await session.scalars(select(ConsoleSession))).all()
    assert login.token_hash == hashlib.sha256(token.encode()).hexdigest() and login.used_at is not None
    assert kept.id_hash == hashlib.sha256(http.cookies[COOKIE].encode()).hexdigest()

    again = await follow(http, link)
    assert again.status_code == 400 and "used already or has expired" in again.text


async def test_a_sign_in_post_without_the_cookie_its_page_set_is_refused_and_leaves_the_link_usable(
        container, http, app):
    """Login CSRF: another site posting its sender's own link would sign the victim in as that sender."""
    link = await signin.login_link(container, "responder@example.com")
    page = await http.get(urlsplit(link).path)
    form = login_form(page.text)
    async with client(app, container) as elsewhere:  # a browser that never opened the link's page
        forged = await elsewhere.post("/login", data=form)
    assert forged.status_code == 403 and COOKIE not in forged.cookies
    assert "open the link again" in forged.text
    stale = await http.post("/login", data={**form, "nonce": "not-the-cookie"})
    assert stale.status_code == 403
    signed_in = await http.post("/login", data=form)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")


async def test_a_link_expires_after_15_minutes(container, http, clock):
    link = await signin.login_link(container, "responder@example.com")
    clock.advance(minutes=15, seconds=1)
    late = await follow(http, link)
    assert late.status_code == 400 and COOKIE not in late.cookies


async def test_no_link_for_someone_who_may_read_nothing(container):
    with pytest.raises(signin.SignInRefused, match="no person with email nobody@example.com"):
        await signin.login_link(container, "nobody@example.com")


@pytest.mark.parametrize("base, secure", [("http://127.0.0.1:8080", False), ("https://tocsin.example", True)])
async def test_the_session_cookie_is_httponly_lax_and_secure_over_https(container, app, base, secure):
    container.settings = replace(container.settings, console_url=base)
    link = await signin.login_link(container, "responder@example.com")
    async with client(app, container, base_url=base) as browser:
        page = await browser.get(urlsplit(link).path)
        signed_in = await browser.post("/login", data=login_form(page.text))
    [login] = [h.lower() for h in page.headers.get_list("set-cookie") if h.startswith("tocsin_login=")]
    assert "httponly" in login and "samesite=strict" in login and "path=/login" in login
    assert ("secure" in login.split("; ")) is secure
    [cookie] = [h.lower() for h in signed_in.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie and "max-age=" in cookie
    assert ("secure" in cookie.split("; ")) is secure


async def test_a_session_expires(browser, clock):
    responder = await browser("responder@example.com")
    clock.advance(hours=12, seconds=1)
    assert (await responder.get("/")).status_code == 303


async def test_a_post_without_the_csrf_token_is_refused(browser, http, container):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    token = csrf_of((await responder.get("/")).text)
    for data, headers in (({}, {}), ({"csrf": ("y" if token[0] == "x" else "x") + token[1:]}, {}), ({}, {"X-CSRF-Token": "wrong"})):
        refused = await responder.post("/incidents/1/ack", data=data, headers=headers)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert (await container.queries.get(1)).status.value == "open"
    by_header = await press(responder, "/incidents/1/ack", headers={"X-CSRF-Token": token})
    assert by_header.status_code == 200 and (await container.queries.get(1)).status.value == "acknowledged"


async def test_sign_out_deletes_the_session(browser, container):
    responder = await browser("responder@example.com")
    cookie = responder.cookies[COOKIE]
    out = await responder.post("/signout", data={"csrf": csrf_of((await responder.get("/")).text)})
    assert (out.status_code, out.headers["location"]) == (303, "/signin")
    async with container.db.sessions() as session:
        assert (await session.scalars(select(ConsoleSession))).all() == []
    responder.cookies.set(COOKIE, cookie)
    assert (await responder.get("/")).status_code == 303


async def test_console_actions_are_the_person_s_own(browser, http, container, people):
    await post_alerts(http)
    responder = await browser("responder@example.com")
    pressed = await press(responder, "/incidents/1/ack", {"csrf": csrf_of((await responder.get("/")).text)})
    assert pressed.status_code == 200 and 'class="reply ok"' in pressed.text
    view = await container.queries.get(1)
    assert view.acknowledged_by is not None and view.acknowledged_by.id == people.ids["responder"]
    async with container.db.sessions() as session:
        account = await session.scalar(select(ChatIdentity).where(ChatIdentity.platform == "console"))
    assert (account.person_id, account.external_id) == (people.ids["responder"], "responder@example.com")


async def test_an_observer_sees_the_card_but_cannot_act(browser, http, container):
    await post_alerts(http)
    observer = await browser("observer@example.com")
    board = await observer.get("/")
    assert 'id="incident-1"' in board.text
    pressed = await press(observer, "/incidents/1/ack", {"csrf": csrf_of(board.text)})
    assert pressed.status_code == 200 and 'class="reply error"' in pressed.text
    assert (await container.queries.get(1)).status.value == "open"


async def test_expired_links_and_sessions_are_cleared_by_the_next_link(browser, container, clock):
    await browser("responder@example.com")
    await signin.login_link(container, "observer@example.com")
    clock.advance(hours=12, seconds=1)
    await signin.login_link(container, "observer@example.com")
    async with container.db.sessions() as session:
        assert (await session.scalars(select(ConsoleSession))).all() == []
        assert len((await session.scalars(select(ConsoleLogin))).all()) == 1


async def test_someone_no_longer_allowed_is_signed_out_at_their_next_request(browser, container, people):
    responder = await browser("responder@example.com")
    assert (await responder.get("/")).status_code == 200
    async with container.db.transaction() as session:
        await session.execute(delete(Membership).where(Membership.person_id == people.ids["responder"]))
    assert (await responder.get("/")).headers["location"] == "/signin"
