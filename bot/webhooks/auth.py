"""Which integration sent a request: its bearer token, basic auth or HMAC signature.

Every comparison is constant-time (``hmac.compare_digest``) and every configured secret is compared,
so the time taken does not tell which one nearly matched. Secrets are never logged; every refusal is,
with the route, the integrations it could have been for and the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Sequence
from datetime import datetime

from starlette.requests import Request

from bot.config_file import IntegrationConfig
from bot.webhooks.http import HttpError

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "x-tocsin-signature"
TIMESTAMP_HEADER = "x-tocsin-timestamp"
WINDOW_SECONDS = 300  # a signed timestamp further than this from our clock is refused (a replay, or a bad clock)
_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
HOW_TO_SIGN = ('send X-Tocsin-Timestamp: <Unix time in seconds> and X-Tocsin-Signature: sha256=<hex HMAC-SHA256 '
               'of "{timestamp}.{body}" with the hmac_secret>')


def same(presented: str | None, expected: str | None) -> bool:
    """Constant-time equality of two secrets; a missing one never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def unauthorized(detail: str) -> HttpError:
    return HttpError(401, "unauthorized", detail, {"WWW-Authenticate": 'Bearer realm="tocsin"'})


def refused(request: Request, source: str, candidates: Sequence[IntegrationConfig], reason: str,
            detail: str) -> HttpError:
    """Log why a webhook was refused (never a secret) and return the 401 to answer."""
    names = ", ".join(i.name for i in candidates) or "none configured"
    host = request.client.host if request.client else "unknown"
    log.warning("webhook refused on %s (%s integrations: %s) from %s: %s", request.url.path, source, names, host,
                reason)
    return unauthorized(detail)


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


def header_failure(request: Request, source: str) -> str:
    """Why no integration matched the Authorization header (for the log)."""
    scheme = request.headers.get("authorization", "").strip().partition(" ")[0].lower()
    if not scheme:
        return "no credentials (no Authorization header)"
    if scheme == "bearer":
        return f"no {source} integration has this bearer token"
    if scheme == "basic":
        return f"no {source} integration has this basic-auth username and password"
    return f"unsupported Authorization scheme {scheme[:20]!r}"


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def by_signature(request: Request, body: bytes, candidates: Sequence[IntegrationConfig], now: datetime,
                 source: str = "generic") -> IntegrationConfig:
    """The integration whose ``X-Tocsin-Signature: sha256=HMAC(secret, "{timestamp}.{body}")`` matches, with
    ``X-Tocsin-Timestamp`` within 5 minutes of ``now``; otherwise a logged 401."""
    signers = [i for i in candidates if i.hmac_secret]
    match = _SIGNATURE.match(request.headers.get(SIGNATURE_HEADER, "").strip())
    if match is None:
        raise refused(request, source, signers, "the X-Tocsin-Signature is not in the sha256=<hex> form",
                      "X-Tocsin-Signature must be sha256=<64 hex digits>; " + HOW_TO_SIGN)
    signature = match.group(1).lower()
    stamp = request.headers.get(TIMESTAMP_HEADER)
    if stamp is None:
        return _without_timestamp(request, body, signers, signature, source)
    stamp = stamp.strip()
    if not _TIMESTAMP.match(stamp):
        raise refused(request, source, signers, "a malformed X-Tocsin-Timestamp",
                      "X-Tocsin-Timestamp must be the Unix time in seconds; " + HOW_TO_SIGN)
    off = int(stamp) - int(now.timestamp())
    if abs(off) > WINDOW_SECONDS:
        raise refused(request, source, signers,
                      f"X-Tocsin-Timestamp is {abs(off)} s {'ahead' if off > 0 else 'old'}, outside the 5-minute window",
                      "the X-Tocsin-Timestamp is more than 5 minutes from Tocsin's clock: sign each request when "
                      "it is sent (a replayed request is refused), and keep the sender's clock in sync")
    found = _first(signers, signature, stamp.encode() + b"." + body)
    if found is None:
        raise refused(request, source, signers, "the signature does not match any of them",
                      "the X-Tocsin-Signature does not match the timestamp and body; " + HOW_TO_SIGN)
    return found


def _first(signers: Sequence[IntegrationConfig], signature: str, message: bytes) -> IntegrationConfig | None:
    """The first integration whose HMAC of ``message`` is ``signature``; every secret is tried."""
    found = None
    for integration in signers:
        if same(signature, _hmac(integration.hmac_secret or "", message)) and found is None:
            found = integration
    return found


def _without_timestamp(request: Request, body: bytes, signers: Sequence[IntegrationConfig], signature: str,
                       source: str) -> IntegrationConfig:
    """The old form, a signature of the body alone: only for integrations with ``hmac_without_timestamp``."""
    found = _first([i for i in signers if i.hmac_without_timestamp], signature, body)
    if found is None:
        raise refused(request, source, signers, "no X-Tocsin-Timestamp (a signature of the body alone can be "
                      "replayed)", "a signature of the body alone is no longer accepted; " + HOW_TO_SIGN)
    log.warning("webhook on %s from integration %s accepted without X-Tocsin-Timestamp (hmac_without_timestamp: "
                "a captured request can be replayed); have the sender sign the timestamp", request.url.path,
                found.name)
    return found


SENTRY_SIGNATURE_HEADER = "sentry-hook-signature"
SENTRY_TIMESTAMP_HEADER = "sentry-hook-timestamp"
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def by_sentry_signature(request: Request, body: bytes, candidates: Sequence[IntegrationConfig],
                        now: datetime) -> IntegrationConfig:
    """The ``preset: sentry`` integration whose ``hmac_secret`` (the Sentry integration's Client Secret) signs
    the body as Sentry does: ``Sentry-Hook-Signature`` = hex HMAC-SHA256 of the raw body, sent with a
    ``Sentry-Hook-Timestamp`` that must be within 5 minutes of ``now`` (Sentry sends no other secret)."""
    signers = [i for i in candidates if i.hmac_secret and i.preset == "sentry"]
    signature = request.headers.get(SENTRY_SIGNATURE_HEADER, "").strip()
    stamp = request.headers.get(SENTRY_TIMESTAMP_HEADER, "").strip().partition(".")[0]
    if not _HEX.match(signature) or not _TIMESTAMP.match(stamp):
        raise refused(request, "generic", signers, "a malformed Sentry-Hook-Signature or Sentry-Hook-Timestamp",
                      "Sentry-Hook-Signature must be 64 hex digits, sent with Sentry-Hook-Timestamp")
    if abs(int(stamp) - int(now.timestamp())) > WINDOW_SECONDS:
        raise refused(request, "generic", signers, "Sentry-Hook-Timestamp outside the 5-minute window",
                      "the Sentry-Hook-Timestamp is more than 5 minutes from Tocsin's clock")
    found = None
    for integration in signers:
        if same(signature.lower(), _hmac(integration.hmac_secret or "", body)) and found is None:
            found = integration
    if found is None:
        raise refused(request, "generic", signers, "the Sentry signature does not match any preset: sentry "
                      "integration's hmac_secret", "the Sentry-Hook-Signature does not match the body; set the "
                      "integration's hmac_secret to the Sentry integration's Client Secret")
    return found


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value a sender computes (documented; used by tests and the bench): of
    "{timestamp}.{body}", or of the body alone (the old form) without a timestamp."""
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    return "sha256=" + _hmac(secret, message)
