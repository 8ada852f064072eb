"""The console's HTTP handlers: sign-in, the board, the event stream, sign-out (a card's actions and the
incident page are ``bot.console.incident``'s).

No page is served without a session (a redirect to the sign-in page); every POST carries the session's
CSRF token (form field ``csrf`` or header ``X-CSRF-Token``), and the sign-in POST the nonce its page set
in a cookie.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse

from bot.commands.reply import Reply
from bot.console import flash, render, sessions, signin
from bot.console.feed import Feed, Stream
from bot.console.signin import Visitor
from bot.container import Container
from storage.directory import Readable
from storage.errors import NotFound, PermissionDenied
from storage.queries import IncidentFilter
from storage.views import IncidentView, version

COOKIE = "tocsin_console"
#: Set by the link's page and required by its button: a sign-in POST from another site (login CSRF, which
#: would sign the victim's browser in as the sender of the link) carries no such cookie.
LOGIN_COOKIE = "tocsin_login"
LOGIN_COOKIE_TTL = 15 * 60
#: Seconds between two keep-alive comments on an idle event stream (proxies close silent connections).
KEEP_ALIVE = 15.0
BOARD_SIZE = 100
#: The console's forms carry a token or two; anything longer is no form of ours.
MAX_FORM_BYTES = 4096


def container_of(request: Request) -> Container:
    return request.state.tocsin


async def visitor_of(request: Request) -> Visitor | None:
    return await signin.visitor(container_of(request), request.cookies.get(COOKIE))


def to_sign_in() -> Response:
    return RedirectResponse("/signin", status_code=303)


async def form_field(request: Request, name: str) -> str:
    """One field of a url-encoded form ("" when absent or the body is no form of ours)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return ""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return ""
    return dict(parse_qsl(body.decode("utf-8", "replace"))).get(name, "")


async def _csrf_ok(request: Request, visitor: Visitor) -> bool:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        sent = await form_field(request, "csrf")
    return sessions.same(sent, visitor.csrf)


def refused() -> Response:
    return PlainTextResponse("Refused: this form's CSRF token is missing or out of date; reload the page.", 403)


async def poster_of(request: Request) -> Visitor | Response:
    """The signed-in visitor of a POST that carries their CSRF token, or the response that refuses it."""
    visitor = await visitor_of(request)
    if visitor is None:
        return to_sign_in()
    return visitor if await _csrf_ok(request, visitor) else refused()


def _secure(request: Request) -> bool:
    """Cookies are ``Secure`` when browsers reach the console over https."""
    return container_of(request).settings.console_url.startswith("https://")


async def handle_sign_in_page(request: Request) -> Response:
    return HTMLResponse(render.render_sign_in_html())


async def handle_login_page(request: Request) -> Response:
    """The link's page: one button that signs in (a link preview fetching the URL does not use it up)."""
    token = request.path_params["token"]
    nonce = secrets.token_urlsafe(32)
    response = HTMLResponse(render.render_login_html(token, nonce))
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_COOKIE_TTL, path="/login", httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


async def handle_login(request: Request) -> Response:
    container = container_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not sessions.same(await form_field(request, "nonce"), nonce):
        return HTMLResponse(render.render_sign_in_html(
            "Sign in from the page your link opens, in this browser: open the link again."), 403)
    sid = await signin.sign_in(container, await form_field(request, "token"))
    if sid is None:
        return HTMLResponse(render.render_sign_in_html(
            "That sign-in link was used already or has expired; ask for a new one."), 400)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, sid, max_age=int(sessions.SESSION_TTL.total_seconds()), path="/", httponly=True,
                        samesite="lax", secure=_secure(request))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def handle_sign_out(request: Request) -> Response:
    visitor = await poster_of(request)
    if isinstance(visitor, Response):
        return visitor
    await sessions.end(container_of(request).db, request.cookies[COOKIE])
    response = to_sign_in()
    response.delete_cookie(COOKIE, path="/")
    return response


def answered(request: Request, visitor: Visitor, target: str, reply: Reply) -> Response:
    """A press's answer: a 303 to the page it came from, which shows ``reply`` once (a reload of that page
    sends nothing again)."""
    return flash.answer(target, reply, visitor.csrf, _secure(request))


async def board(request: Request, visitor: Visitor) -> Response:
    container = container_of(request)
    views, _ = await container.queries.list(IncidentFilter.open(limit=BOARD_SIZE), visitor.readable, alerts=True)
    reply = flash.take(request, visitor.csrf)
    demo = False
    if not views and visitor.readable.teams is None:  # an admin's empty board: a new organisation?
        from bot.console.demo import may_load  # (demo answers through this module)
        demo = await may_load(container)
    page = render.render_board_html(visitor.actor.display_name, views, visitor.csrf, container.clock.now(), reply,
                                    demo)
    return flash.spent(request, HTMLResponse(page, headers={"Cache-Control": "no-store"}))


async def handle_board(request: Request) -> Response:
    visitor = await visitor_of(request)
    return to_sign_in() if visitor is None else await board(request, visitor)


def _event(name: str, data: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in data.splitlines()) + "\n"


async def _events(stream: Stream) -> AsyncIterator[str]:
    yield ": open\n\n"
    while True:
        try:
            data = await asyncio.wait_for(stream.cards.get(), KEEP_ALIVE)
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        if data is None:
            yield "event: reload\ndata: behind\n\n"
            return
        yield _event(stream.event, data)


def handle_events(feed: Feed):
    async def handle(request: Request) -> Response:
        """Server-Sent Events: the card of each incident the person may read, whenever it changes; on an
        incident's page (``/incidents/N/events``), the incident's number whenever it changes."""
        visitor = await visitor_of(request)
        if visitor is None:
            return to_sign_in()
        number = request.path_params.get("number")
        if number is not None and await _view(request, visitor.readable, number) is None:
            return PlainTextResponse(f"There is no incident #{number} you may read.", 404)

        async def body() -> AsyncIterator[str]:
            with feed.open(visitor.readable, visitor.csrf, number) as stream:
                if number is not None:
                    await _catch_up(request, stream, number)
                async for chunk in _events(stream):
                    yield chunk

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    return handle


async def _view(request: Request, readable: Readable, number: int) -> IncidentView | None:
    try:
        return await container_of(request).queries.get(number, readable)
    except (NotFound, PermissionDenied):
        return None


async def _catch_up(request: Request, stream: Stream, number: int) -> None:
    """A page whose card is older than the incident (it changed while the page loaded, or while the
    browser was reconnecting) is told at once: it sends the version it shows as ``?version=``."""
    view = await _view(request, stream.readable, number)
    if view is not None and version(view) != request.query_params.get("version"):
        stream.cards.put_nowait(str(number))
