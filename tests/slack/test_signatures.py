"""Only requests signed with our signing secret, and fresh, reach a listener."""

from __future__ import annotations

import time

import pytest


def _forms(slack):
    body, _ = slack.requests.command("declare Forged incident team:payments")
    good = slack.requests.sign(body)
    return body, {
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrongly signed": slack.requests.sign(body, secret="not-the-secret"),
        "six minutes old": slack.requests.sign(body, timestamp=int(time.time()) - 360),
        "signature of another body": {**good, "X-Slack-Signature": slack.requests.sign(body + "&x=1")[
            "X-Slack-Signature"]},
    }


@pytest.mark.parametrize("case", ["unsigned", "wrongly signed", "six minutes old", "signature of another body"])
async def test_bad_requests_get_401_and_have_no_effect(slack, people, container, case):
    body, forms = _forms(slack)
    response = await slack.post(body, headers=forms[case])
    assert response.status_code == 401
    await slack.settle()
    assert (await container.queries.list(__import__("storage.queries").queries.IncidentFilter()))[1] == 0
    assert slack.fake.responses == [] and slack.fake.messages == []


async def test_a_signed_fresh_request_is_accepted(slack, people, container):
    body, _ = slack.requests.command("declare Real incident team:payments")
    response = await slack.post(body, headers=slack.requests.sign(body))
    assert response.status_code == 200
    await slack.settle()
    assert (await container.queries.get(1)).title == "Real incident"
