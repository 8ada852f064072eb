"""@Tocsin mentions use the same grammar; an Events API retry changes nothing twice."""

from __future__ import annotations


def mention(text, user="URESPONDER", ts="1700000100.000200", thread_ts=None):
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts, "channel": "CPAYMENTS",
             "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


async def test_a_mention_runs_the_command_and_answers_in_the_thread(slack, people, container):
    await slack.command("declare Checkout is down team:payments")
    card = slack.card()
    body = slack.requests.event(mention("note 1 cache warmed", thread_ts=card.ts), event_id="Ev1")
    assert (await slack.post(body)).status_code == 200
    await slack.settle()
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared", "note"]
    replies = [m.text for m in slack.fake.thread(card)]
    assert "Note added to #1." in replies and "*Responder* (slack): cache warmed" in replies


async def test_an_events_api_retry_changes_nothing_twice(slack, people, container):
    await slack.command("declare Checkout is down team:payments")
    body = slack.requests.event(mention("note 1 once only"), event_id="EvRetry")
    first = await slack.post(body)
    headers = {**slack.requests.sign(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    retry = await slack.post(body, headers=headers)
    assert first.status_code == retry.status_code == 200
    await slack.settle()
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared", "note"]


async def test_a_mention_with_bad_arguments_gets_an_ephemeral_usage(slack, people):
    body = slack.requests.event(mention("snooze 1 forever"))
    await slack.post(body)
    await slack.settle()
    [ephemeral] = slack.fake.ephemerals
    assert ephemeral["user"] == "URESPONDER" and "Usage: /incident snooze" in ephemeral["text"]
