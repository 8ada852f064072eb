"""Pruning old receipts does not forget a Slack event that Slack may still retry."""

from __future__ import annotations

from datetime import timedelta

from bot.housekeeping import ReceiptPruner
from tests.slack.test_events import mention


async def test_a_retry_inside_the_retention_is_still_deduplicated_after_pruning(slack, people, container, clock):
    await slack.command("declare Checkout is down team:payments")
    body = slack.requests.event(mention("note 1 once only"), event_id="EvPruned")
    assert (await slack.post(body)).status_code == 200
    await slack.settle()

    clock.advance(hours=1)
    await ReceiptPruner(container.db, clock, timedelta(hours=24)).prune()
    headers = {**slack.requests.sign(body), "X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await slack.post(body, headers=headers)).status_code == 200
    await slack.settle()

    assert [e.kind for e in await container.queries.timeline(1)] == ["declared", "note"]
