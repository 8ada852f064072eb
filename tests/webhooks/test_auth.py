"""Webhook authentication: the generic endpoint's signed timestamp (a 5-minute window against replays),
only the documented ``sha256=`` form, and a log line for every refusal naming the integration and the
reason, never a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest

from tests.webhooks.support import AM_TOKEN, GENERIC_HMAC, bearer, configure

BODY = json.dumps({"title": "Deploy failed", "dedup_key": "deploy-1"}).encode()


def signed(body: bytes, ts: int | str, secret: str = GENERIC_HMAC, prefix: str = "sha256=") -> dict[str, str]:
    """The headers a sender computes: HMAC-SHA256 of "{ts}.{body}" (written here from the docs)."""
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Tocsin-Timestamp": str(ts), "X-Tocsin-Signature": prefix + digest}


def now(clock) -> int:
    return int(clock.now().timestamp())


async def post(client, headers, body: bytes = BODY):
    return await client.post("/webhooks/generic", content=body, headers=headers)


async def test_a_signed_timestamp_within_five_minutes_is_accepted(client, clock, container):
    for skew in (0, -299, 299):  # the sender's clock may run a little behind or ahead
        response = await post(client, signed(BODY, now(clock) + skew))
        assert response.status_code == 200, response.text
    assert (await container.queries.get(1)).title == "Deploy failed"


@pytest.mark.parametrize("skew", [-301, 301, -86400])
async def test_a_captured_request_replayed_after_the_window_is_refused(client, clock, skew):
    response = await post(client, signed(BODY, now(clock) + skew))
    assert response.status_code == 401
    assert "X-Tocsin-Timestamp" in response.json()["detail"] and "5 minutes" in response.json()["detail"]


async def test_the_timestamp_is_signed_too(client, clock):
    headers = signed(BODY, now(clock) - 3600)
    headers["X-Tocsin-Timestamp"] = str(now(clock))  # a fresh timestamp on an old signature
    assert (await post(client, headers)).status_code == 401


@pytest.mark.parametrize("ts", ["", "yesterday", "1.5e9", "-1"])
async def test_a_malformed_timestamp_is_refused_and_says_the_form(client, ts):
    response = await post(client, signed(BODY, ts))
    assert response.status_code == 401 and "Unix time in seconds" in response.json()["detail"]


async def test_only_the_documented_sha256_form_is_accepted(client, clock):
    for prefix in ("", "SHA256=", "sha1=", "sha256:"):
        response = await post(client, signed(BODY, now(clock), prefix=prefix))
        assert response.status_code == 401, prefix
        assert "sha256=" in response.json()["detail"]


async def test_a_body_only_signature_without_timestamp_is_refused_and_says_how_to_sign(client):
    digest = hmac.new(GENERIC_HMAC.encode(), BODY, hashlib.sha256).hexdigest()
    response = await post(client, {"Content-Type": "application/json", "X-Tocsin-Signature": f"sha256={digest}"})
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert "X-Tocsin-Timestamp" in detail and "{timestamp}.{body}" in detail


async def test_an_integration_may_keep_accepting_old_senders_and_each_is_logged(client, container, caplog):
    from tests.webhooks.support import CONFIG

    integrations = [{**i, "hmac_without_timestamp": True} if i["name"] == "ci" else i for i in CONFIG["integrations"]]
    configure(container, integrations=integrations)
    digest = hmac.new(GENERIC_HMAC.encode(), BODY, hashlib.sha256).hexdigest()
    with caplog.at_level(logging.WARNING):
        response = await post(client, {"Content-Type": "application/json", "X-Tocsin-Signature": f"sha256={digest}"})
    assert response.status_code == 200, response.text
    line = next(r.getMessage() for r in caplog.records if "without X-Tocsin-Timestamp" in r.getMessage())
    assert "ci" in line and GENERIC_HMAC not in line and digest not in line


@pytest.mark.parametrize(("path", "headers", "body", "integration", "reason"), [
    ("/webhooks/alertmanager", bearer("a-wrong-but-secret-token"), b"{}", "alertmanager, grafana, am-manual",
     "no alertmanager integration has this bearer token"),
    ("/webhooks/alertmanager", {}, b"{}", "alertmanager, grafana, am-manual", "no credentials"),
    ("/webhooks/generic", {"X-Tocsin-Signature": "sha256=" + "0" * 64, "X-Tocsin-Timestamp": "TS"}, BODY, "ci",
     "the signature does not match"),
    ("/webhooks/generic", {"X-Tocsin-Signature": "sha256=" + "0" * 64, "X-Tocsin-Timestamp": "1"}, BODY, "ci",
     "outside the 5-minute window"),
    ("/v2/enqueue", {}, json.dumps({"routing_key": "a-wrong-routing-key-secret", "event_action": "trigger",
                                    "payload": {"summary": "x", "source": "y", "severity": "info"}}).encode(),
     "pd-compat", "unknown routing_key"),
])
async def test_every_refusal_is_logged_with_the_integration_and_the_reason(client, clock, caplog, path, headers,
                                                                          body, integration, reason):
    headers = {"Content-Type": "application/json",
               **{k: v.replace("TS", str(now(clock))) for k, v in headers.items()}}
    with caplog.at_level(logging.WARNING):
        response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 401
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert integration in line and reason in line, line
    for secret in ("a-wrong-but-secret-token", "a-wrong-routing-key-secret", AM_TOKEN, GENERIC_HMAC, "0" * 64):
        assert secret not in line
