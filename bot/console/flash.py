"""A press's answer, shown once on the page the press came from (Post/Redirect/Get).

A console POST answers with a 303 to its page, so that a reload reads the page again rather than sending
the press again. The answer rides in a short-lived cookie (``HttpOnly``, ``SameSite=Strict``, never in the
URL, which a reload or a shared link would repeat), sealed with the session's CSRF token: a cookie that
another session or anybody else made shows nothing. The page that shows it deletes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.commands.reply import Reply

COOKIE = "tocsin_flash"
#: Seconds an answer waits for its page: the browser follows the redirect at once.
TTL = 60
#: A cookie holds about 4 KB: a longer answer is cut to this many characters, or
#: further until sealed it takes at most ``MAX_SEALED`` bytes, and says so.
MAX_TEXT = 1500
MAX_SEALED = 3500
CUT = "\n… (cut; the page shows the rest)"


def answer(target: str, reply: Reply, key: str, secure: bool) -> Response:
    """The 303 to ``target`` that shows ``reply`` there once."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, _seal(target, reply, key), max_age=TTL, path="/", httponly=True,
                        samesite="strict", secure=secure)
    return response


def take(request: Request, key: str) -> Reply | None:
    """The answer waiting for this page, if its seal holds (``spent`` then deletes it)."""
    sealed = request.cookies.get(COOKIE, "")
    payload, _, mac = sealed.rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(payload, key)):
        return None
    try:
        target, error, text = json.loads(zlib.decompress(base64.urlsafe_b64decode(payload)))
    except (ValueError, zlib.error, TypeError):
        return None
    return Reply(text, error=bool(error)) if target == request.url.path else None


def spent(request: Request, response: Response) -> Response:
    """``response`` deleting the waiting answer: a page shows it once (a reload shows the page alone)."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _seal(target: str, reply: Reply, key: str) -> str:
    keep = MAX_TEXT
    while True:
        text = reply.text if len(reply.text) <= keep else reply.text[:keep] + CUT
        data = json.dumps([target, reply.error, text], ensure_ascii=False).encode()
        payload = base64.urlsafe_b64encode(zlib.compress(data)).decode()
        if len(payload) <= MAX_SEALED or keep == 0:
            return f"{payload}.{_mac(payload, key)}"
        keep //= 2  # text that compresses badly (most scripts but Latin): cut until it fits


def _mac(payload: str, key: str) -> str:
    digest = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
