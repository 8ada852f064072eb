"""Bad requests get the right status and store nothing; never a 500 for bad input."""

from __future__ import annotations

import base64
import json

import pytest

from bot.webhooks.auth import sign
from storage.queries import IncidentFilter
from tests.webhooks.support import (
    AM,
    AM_TOKEN,
    ELASTIC_TOKEN,
    GENERIC_HMAC,
    GRAFANA_PASSWORD,
    GRAFANA_USER,
    bearer,
    fixture,
)

FIRING = fixture("001_firing_DBPrimaryDown.json")
ENDPOINTS = ["/webhooks/alertmanager", "/webhooks/elastic", "/webhooks/generic"]


async def _nothing_stored(container, changes) -> None:
    await container.bus.drain()
    assert (await container.queries.list(IncidentFilter()))[1] == 0
    assert changes == []


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("headers", [
    {},
    bearer("wrong-token"),
    bearer(""),
    {"Authorization": AM_TOKEN},  # no scheme
    bearer(ELASTIC_TOKEN),  # another integration's token
    bearer(AM_TOKEN + "x"),
    {"Authorization": "Bearer ünïcode-tökén".encode()},
    _basic(GRAFANA_USER, "wrong"),
    _basic("", ""),
    {"Authorization": "Basic !!!not-base64"},
])
async def test_missing_or_wrong_credentials_get_401_and_store_nothing(client, container, changes, headers):
    response = await client.post("/webhooks/alertmanager", json=FIRING, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "www-authenticate" in response.headers
    await _nothing_stored(container, changes)


async def test_basic_auth_and_bearer_each_name_their_integration(client, container):
    assert (await client.post("/webhooks/alertmanager", json=FIRING,
                              headers=_basic(GRAFANA_USER, GRAFANA_PASSWORD))).status_code == 200
    assert (await client.post("/webhooks/alertmanager", json=FIRING, headers=AM)).status_code == 200
    creators = [(await container.queries.timeline(n))[0].actor_name for n in (1, 2)]
    assert creators == ["grafana", "alertmanager"]  # each integration keeps its own incidents


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_every_webhook_requires_its_integrations_secret(client, container, changes, path):
    response = await client.post(path, json={"title": "x"}, headers=bearer("nope"))
    assert response.status_code == 401
    await _nothing_stored(container, changes)


async def test_generic_accepts_an_hmac_signature_of_the_timestamp_and_raw_body(client, container, clock):
    body = json.dumps({"title": "Deploy failed", "dedup_key": "deploy-1"}).encode()
    ts = int(clock.now().timestamp())
    headers = {"Content-Type": "application/json", "X-Tocsin-Timestamp": str(ts),
               "X-Tocsin-Signature": sign(GENERIC_HMAC, body, ts)}
    assert (await client.post("/webhooks/generic", content=body, headers=headers)).status_code == 200
    assert (await container.queries.get(1)).title == "Deploy failed"


async def test_a_wrong_or_tampered_signature_gets_401(client, container, changes):
    body = json.dumps({"title": "Deploy failed"}).encode()
    for signature in (sign("other-secret", body), sign(GENERIC_HMAC, body + b" "), "sha256=", "garbage"):
        headers = {"Content-Type": "application/json", "X-Tocsin-Signature": signature}
        response = await client.post("/webhooks/generic", content=body, headers=headers)
        assert response.status_code == 401, signature
    await _nothing_stored(container, changes)


async def test_an_oversized_body_gets_413_by_content_length(client, container, changes):
    limit = container.settings.max_body_bytes
    big = b'{"alerts": [], "pad": "' + b"x" * limit + b'"}'
    response = await client.post("/webhooks/alertmanager", content=big,
                                 headers={**AM, "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"
    await _nothing_stored(container, changes)


async def test_an_oversized_streamed_body_gets_413_while_counting(client, container, changes):
    limit = container.settings.max_body_bytes
    sent = []

    async def chunks():  # no Content-Length: chunked transfer
        yield b'{"alerts": [], "pad": "'
        for _ in range(limit // 65536 + 2):
            sent.append(1)
            yield b"x" * 65536
        yield b'"}'

    response = await client.post("/webhooks/alertmanager", content=chunks(),
                                 headers={**AM, "Content-Type": "application/json"})
    assert response.status_code == 413
    await _nothing_stored(container, changes)


async def test_the_body_limit_comes_from_settings(container, people):
    from dataclasses import replace

    from tests.webhooks.support import client_for, configure, sidecar_app

    container.settings = replace(container.settings, max_body_bytes=200)
    configure(container)
    async with client_for(sidecar_app(container), container) as http:
        response = await http.post("/webhooks/alertmanager", json=FIRING, headers=AM)
    assert response.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "application/xml"])
async def test_a_wrong_content_type_gets_415(client, container, changes, content_type):
    headers = {**AM, "Content-Type": content_type}
    response = await client.post("/webhooks/alertmanager", content=json.dumps(FIRING), headers=headers)
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    await _nothing_stored(container, changes)


async def test_json_with_a_charset_is_accepted(client):
    headers = {**AM, "Content-Type": "application/json; charset=utf-8"}
    assert (await client.post("/webhooks/alertmanager", content=json.dumps(FIRING), headers=headers)
            ).status_code == 200


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe", b"", b"[" * 100000])
async def test_invalid_json_gets_400(client, container, changes, body):
    response = await client.post("/webhooks/alertmanager", content=body,
                                 headers={**AM, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"
    await _nothing_stored(container, changes)


def _mutated(path: list, value):
    payload = json.loads(json.dumps(FIRING))
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


@pytest.mark.parametrize(("path", "value", "field"), [
    (["alerts"], "nope", "alerts"),
    (["alerts"], None, "alerts"),
    (["alerts", 0], 5, "alerts[0]"),
    (["alerts", 0, "status"], "exploded", "alerts[0].status"),
    (["alerts", 0, "status"], None, "alerts[0].status"),
    (["alerts", 0, "labels"], ["x"], "alerts[0].labels"),
    (["alerts", 0, "labels", "service"], {"nested": 1}, "alerts[0].labels.service"),
    (["alerts", 0, "startsAt"], "yesterday", "alerts[0].startsAt"),
    (["alerts", 0, "startsAt"], 12, "alerts[0].startsAt"),
    (["alerts", 0, "startsAt"], "9999-12-31T23:00:00-05:00", "alerts[0].startsAt"),
    (["alerts", 0, "annotations"], "x", "alerts[0].annotations"),
    (["truncatedAlerts"], -1, "truncatedAlerts"),
    (["truncatedAlerts"], "many", "truncatedAlerts"),
    (["groupKey"], {"a": 1}, "groupKey"),
])
async def test_a_wrong_shape_gets_400_naming_the_field(client, container, changes, path, value, field):
    response = await client.post("/webhooks/alertmanager", json=_mutated(path, value), headers=AM)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_payload"
    assert response.json()["detail"].startswith(field + ":")
    await _nothing_stored(container, changes)


async def test_a_body_that_is_not_an_object_gets_400(client):
    for body in ([], "x", 1, None):
        response = await client.post("/webhooks/alertmanager", content=json.dumps(body),
                                     headers={**AM, "Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["detail"].startswith("(body)")


async def test_nul_characters_and_huge_labels_are_stored_not_refused(client, container):
    payload = _mutated(["alerts", 0, "labels", "note"], "a\x00b" + "y" * 20000)
    payload["alerts"][0]["annotations"]["summary"] = "nul \x00 in summary"
    payload["alerts"][0]["fingerprint"] = "f" * 300
    payload["groupKey"] = "g" * 5000
    response = await client.post("/webhooks/alertmanager", json=payload, headers=AM)
    assert response.status_code == 200, response.text
    view = await container.queries.get(1)
    assert view.labels["note"].startswith("ab")


async def test_random_garbage_never_gets_a_500(client, container):
    import random

    rng = random.Random(3)
    values = [None, 0, -5, 1.5, True, "", "x", [], {}, [1], {"a": None}, "0001-01-01T00:00:00Z"]
    keys = ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL"]
    for _ in range(300):
        payload = json.loads(json.dumps(FIRING))
        for _ in range(rng.randint(1, 3)):
            alerts = payload.get("alerts")
            alert = alerts[0] if isinstance(alerts, list) and alerts and isinstance(alerts[0], dict) else {}
            labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
            where = rng.choice([payload, alert, labels])
            where[rng.choice(keys + list(where))] = rng.choice(values)
        response = await client.post("/webhooks/alertmanager", json=payload, headers=AM)
        assert response.status_code in (200, 400), (payload, response.text)


@pytest.mark.parametrize("body", [
    b'{"alerts": [], "n": ' + b"1" * 5000 + b"}",
    b'{"alerts": [], "n": NaN}',
    b'{"alerts": [], "n": -Infinity}',
])
async def test_json_python_accepts_but_json_does_not_is_400(client, container, changes, body):
    response = await client.post("/webhooks/alertmanager", content=body,
                                 headers={**AM, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"


async def test_lone_surrogates_and_nul_in_keys_are_stored_not_refused(client, container):
    payload = json.loads(json.dumps(FIRING))
    payload["alerts"][0]["labels"]["odd\x00key"] = "lone \ud800 surrogate"
    payload["alerts"][0]["annotations"]["summary"] = "\udfff\x00"
    payload["alerts"][0]["annotations"]["nested"] = {"k\ud801": ["\x00", 1.5, None, True]}
    body = json.dumps(payload).encode()  # ensure_ascii: the surrogates travel as \\ud800 escapes
    response = await client.post("/webhooks/alertmanager", content=body,
                                 headers={**AM, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert (await container.queries.get(1)).labels["oddkey"] == "lone ? surrogate"


async def test_an_absurd_truncated_alerts_count_is_stored_as_the_largest_count_not_refused(client, container):
    body = {**FIRING, "truncatedAlerts": 10**20}  # past any integer column: a database error would be a 503 for ever
    response = await client.post("/webhooks/alertmanager", json=body, headers=AM)
    assert response.status_code == 200
    incident = await container.queries.get(response.json()["opened"][0])
    assert incident.truncated_alerts == 2**31 - 1
