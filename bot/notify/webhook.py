"""The outgoing webhook channel: a JSON POST per page, for SMS or voice gateways.

Every attempt at one notification carries the same ``Idempotency-Key`` so a gateway can drop a repeat
after a crash between sending and recording. With a secret, the body is signed (HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from storage.ports import Delivery, DeliveryError, Destination, Page

TRANSIENT = {408, 425, 429, 500, 502, 503, 504}


def payload(destination: Destination, page: Page) -> dict:
    view = page.incident
    return {
        "key": page.key, "kind": page.kind, "reason": page.reason, "text": page.text, "to": destination.address,
        "person_id": destination.person_id,
        "incident": None if view is None else {
            "number": view.number, "title": view.title, "severity": view.severity.value,
            "status": view.status.value, "team": view.team.name if view.team else None},
    }


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class WebhookSender:
    channel = "webhook"

    def __init__(self, url: str, *, secret: str | None = None, timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url, self.secret = url, secret
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """POST the page; 2xx is delivered, 429/5xx are retried (honouring Retry-After), other 4xx are not."""
        body = json.dumps(payload(destination, page), separators=(",", ":")).encode()
        headers = {"content-type": "application/json", "idempotency-key": page.key or ""}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["x-tocsin-signature"] = f"sha256={digest}"
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return Delivery(response.headers.get("x-request-id") or page.key or "", destination.thread)
        message = f"webhook answered {response.status_code}: {response.text[:200]}"
        if response.status_code in TRANSIENT:
            raise DeliveryError(message, retry_after=_retry_after(response))
        raise DeliveryError(message, permanent=True)

    async def close(self) -> None:
        await self.client.aclose()
