"""A maintenance window on Slack (issue 16, item 2): an alert-born incident it covers is in the API but posts
no card in the team's channel while the window lasts; other incidents get their cards as usual."""

from __future__ import annotations

from tests.slack.test_storm import fire, parts, slack

__all__ = ["parts", "slack"]  # the fixtures, used by name
ADMIN = {"Authorization": "Bearer api-admin-role-token"}


async def test_an_alert_in_a_window_posts_no_card_while_another_does(slack, people, container, clock):
    opened = await slack.http.post("/api/maintenance", headers=ADMIN,
                                   json={"team": "payments", "labels": {"instance": "web1:9100"}, "duration": "1h"})
    assert opened.status_code == 201, opened.text
    await fire(slack, clock, [1, 2])
    texts = [m.current["text"] for m in slack.fake.messages_in("CPAYMENTS")]
    assert len(texts) == 1 and "Disk full on web2" in texts[0]
    listed = (await slack.http.get("/api/incidents", headers=ADMIN)).json()
    assert listed["total"] == 2  # the quiet one is recorded and visible


async def test_the_card_comes_at_the_first_sweep_after_the_window(slack, people, container, clock):
    cards = slack.runtime.cards
    mark = await cards.sweep(None)
    opened = await slack.http.post("/api/maintenance", headers=ADMIN, json={"team": "payments", "duration": "1h"})
    assert opened.status_code == 201, opened.text
    await fire(slack, clock, [1])
    mark = await cards.sweep(mark)
    await slack.settle()
    assert slack.fake.messages_in("CPAYMENTS") == []  # a sweep during the window posts nothing either
    clock.advance(hours=1)
    await container.incidents.add_note(1, people.slack("responder"), "the upgrade is done")  # it changes
    await cards.sweep(mark)
    await slack.settle()
    [card] = slack.fake.messages_in("CPAYMENTS")
    assert "Disk full on web1" in card.current["text"]
