"""Which integration sent a request: its bearer token, basic auth or HMAC signature.

Every comparison is constant-time (``hmac.compare_digest``) and every configured secret is compared,
so the time taken does not tell which one nearly matched. Secrets are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from starlette.requests import Request

from bot.config_file import IntegrationConfig
from bot.webhooks.http import HttpError

SIGNATURE_HEADER = "x-tocsin-signature"


def same(presented: str | None, expected: str | None) -> bool:
    """Constant-time equality of two secrets; a missing one never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def unauthorized(detail: str) -> HttpError:
    return HttpError(401, "unauthorized", detail, {"WWW-Authenticate": 'Bearer realm="tocsin"'})


def _credentials(request: Request) -> tuple[str | None, tuple[str, str] | None]:
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip(), None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return None, (user, password)
    return None, None


def by_header(request: Request, candidates: Sequence[IntegrationConfig]) -> IntegrationConfig | None:
    """The integration whose bearer token or basic-auth pair the request carries, if any."""
    token, basic = _credentials(request)
    found = None
    for integration in candidates:
        ok = same(token, integration.token)
        if basic is not None and integration.basic_username and integration.basic_password:
            ok |= same(basic[0], integration.basic_username) & same(basic[1], integration.basic_password)
        if ok and found is None:
            found = integration
    return found


def by_signature(request: Request, body: bytes, candidates: Sequence[IntegrationConfig]) -> IntegrationConfig | None:
    """The integration whose HMAC-SHA256 of the raw body matches ``X-Tocsin-Signature: sha256=<hex>``."""
    signature = request.headers.get(SIGNATURE_HEADER, "").strip().lower().removeprefix("sha256=")
    found = None
    for integration in candidates:
        if not integration.hmac_secret:
            continue
        expected = hmac.new(integration.hmac_secret.encode(), body, hashlib.sha256).hexdigest()
        if same(signature, expected) and found is None:
            found = integration
    return found


def sign(secret: str, body: bytes) -> str:
    """The signature header value a sender computes (documented; used by tests and the bench)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
