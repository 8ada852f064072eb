"""Secrets never reach the logs, whether they match or not."""

from __future__ import annotations

import logging

from tests.webhooks.support import AM_TOKEN, bearer, fixture


async def test_no_token_is_logged(client, caplog, container):
    caplog.set_level(logging.DEBUG)
    payload = fixture("001_firing_DBPrimaryDown.json")
    await client.post("/webhooks/alertmanager", json=payload, headers=bearer(AM_TOKEN))
    await client.post("/webhooks/alertmanager", json=payload, headers=bearer("a-wrong-but-secret-token"))
    await client.post("/v2/enqueue", json={"routing_key": "a-wrong-routing-key-secret", "event_action": "trigger",
                                           "payload": {"summary": "x", "source": "y", "severity": "info"}})
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (AM_TOKEN, "a-wrong-but-secret-token", "a-wrong-routing-key-secret"):
        assert secret not in text
