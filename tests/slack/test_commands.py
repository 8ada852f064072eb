"""/incident over HTTP mode: signed form posts in, answers through the response_url out."""

from __future__ import annotations

import pytest

from bot.slack import ids
from storage.identity import person_for


def plain(answer):
    """What the user reads: Slack shows &lt; &gt; &amp; as < > &."""
    return answer["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def declare(slack, text="Checkout is down sev:critical team:payments", user_id="URESPONDER"):
    answers = await slack.command(f"declare {text}", user_id=user_id)
    assert answers and "Declared" in answers[0]["text"], answers
    return answers[0]


async def test_declare_posts_the_card_to_the_team_channel(slack, people):
    answer = await declare(slack)
    assert answer["response_type"] == "ephemeral"  # the card itself tells the channel
    card = slack.card()
    assert card.text == "#1 [critical] Checkout is down (open)"
    header = card.blocks[0]["text"]["text"]
    assert header == "#1 Checkout is down"
    actions = [b for b in card.blocks if b["type"] == "actions"][0]
    assert [e["action_id"] for e in actions["elements"]] == [ids.ACKNOWLEDGE, ids.RESOLVE, ids.ESCALATE, ids.SNOOZE]


async def test_declare_from_another_channel_answers_there(slack, people):
    answers = await slack.command("declare Disk full team:payments", channel_id="CRANDOM")
    assert answers[0]["response_type"] == "in_channel"
    assert slack.fake.messages_in("CPAYMENTS") and not slack.fake.messages_in("CRANDOM")


async def test_declare_without_a_team_channel_posts_the_card_where_declared(slack, people):
    await slack.command("declare Queue stuck", channel_id="CRANDOM")
    assert slack.fake.messages_in("CRANDOM")[0].text.startswith("#1 [medium] Queue stuck")


async def test_declare_in_a_team_channel_belongs_to_that_team(slack, people, container):
    answers = await slack.command("declare Checkout is slow", channel_id="CPAYMENTS")
    assert answers and "Declared #1" in answers[0]["text"], answers
    view = await container.queries.get(1)
    assert view.team is not None and view.team.name == "payments"
    assert slack.card("CPAYMENTS").text == "#1 [medium] Checkout is slow (open)"


async def test_the_declare_form_opened_in_a_team_channel_belongs_to_that_team(slack, people, container):
    await slack.command("declare", channel_id="CPAYMENTS")
    view = slack.fake.calls_to("views.open")[0].args["view"]
    values = {"title": {"title": {"type": "plain_text_input", "value": "Builds hang"}}}
    assert (await slack.post(slack.requests.view_submission(view, values))).status_code == 200
    await slack.settle()
    incident = await container.queries.get(1)
    assert incident.team is not None and incident.team.name == "payments"


async def test_declare_without_a_title_opens_the_form(slack, people):
    answers = await slack.command("declare")
    assert answers == []
    [call] = slack.fake.calls_to("views.open")
    assert call.args["view"]["callback_id"] == ids.DECLARE_MODAL
    assert call.args["trigger_id"].startswith("trig.")


async def test_the_declare_form_declares(slack, people):
    await slack.command("declare")
    view = slack.fake.calls_to("views.open")[0].args["view"]
    values = {"title": {"title": {"type": "plain_text_input", "value": "Payments API 500s"}},
              "severity": {"severity": {"type": "static_select", "selected_option": {"value": "high"}}},
              "service": {"service": {"type": "plain_text_input", "value": "api"}},
              "team": {"team": {"type": "plain_text_input", "value": "payments"}}}
    response = await slack.post(slack.requests.view_submission(view, values))
    assert response.status_code == 200
    await slack.settle()
    assert slack.card().text == "#1 [high] Payments API 500s (open)"
    dm = slack.fake.messages_in("DURESPONDER")[0]
    assert "Declared #1" in dm.text


@pytest.mark.parametrize("text,needle", [
    ("ack 1", "#1 acknowledged by Responder"),
    ("resolve 1 fixed the config", "#1 resolved by Responder"),
    ("escalate 1", "#1 escalated by Responder"),
    ("note 1 rolled back v42", "Note added to #1"),
    ("snooze 1 30m", "#1 snoozed until 2026-11-22 03:30 UTC"),
])
async def test_responder_subcommands_change_the_incident(slack, people, text, needle):
    await declare(slack)
    answers = await slack.command(text)
    assert needle in answers[0]["text"]
    assert answers[0]["response_type"] == "ephemeral"  # issued in the card's channel: the thread shows it
    thread = slack.fake.thread(slack.card())
    assert len(thread) == 1 and "Responder" in thread[0].text


@pytest.mark.parametrize("text,needle", [
    ("cancel 1 duplicate of #0", "#1 cancelled by Incident Commander"),
    ("severity 1 low", "#1 severity critical -> low"),
    ("assign 1 <@URESPONDER|responder>", "#1 assigned to Responder"),
])
async def test_commander_subcommands(slack, people, text, needle):
    await declare(slack)
    answers = await slack.command(text, user_id="UINCIDENT_COMMANDER")
    assert needle in plain(answers[0])


async def test_read_only_subcommands(slack, people):
    await declare(slack)
    await declare(slack, "Old thing team:payments")
    await slack.command("resolve 2")
    show = (await slack.command("show 1"))[0]
    assert show["response_type"] == "ephemeral" and any(b["type"] == "header" for b in show["blocks"])
    assert "#1 Checkout is down" in show["text"]
    timeline = (await slack.command("timeline 2"))[0]
    assert "Declared by" in str(timeline["blocks"]) and "Resolved by" in str(timeline["blocks"])
    assert "1 open incident" in (await slack.command("list"))[0]["text"]
    assert "2 all incidents" in (await slack.command("list all"))[0]["text"]
    assert "1 team payments incident" in (await slack.command("list team payments"))[0]["text"]
    assert "No mine incidents" in (await slack.command("list mine"))[0]["text"]
    stats = (await slack.command("stats 30d payments"))[0]["text"]
    assert "2 incidents" in stats and "MTTR" in stats
    assert "/start" in (await slack.command("link"))[0]["text"]
    assert "Tocsin commands" in (await slack.command("help"))[0]["text"]


@pytest.mark.parametrize("text,needle", [
    ("frobnicate 1", "Unknown subcommand 'frobnicate'"),
    ("ack", "'ack' needs an incident number.\nUsage: /incident ack <number>"),
    ("ack one", "'one' is not an incident number"),
    ("resolve", "Usage: /incident resolve <number> [note]"),
    ("snooze 1 forever", "'forever' is not a duration"),
    ("snooze 1", "Usage: /incident snooze"),
    ("severity 1 huge", "Unknown severity 'huge'"),
    ("assign 1", "Usage: /incident assign <number> @user"),
    ("assign 1 bob", "I can't tell who 'bob' is"),
    ("note 1", "'note' needs some text"),
    ("declare x sev:bogus", "Unknown severity 'bogus'"),
    ("list team", "'list team' needs a team name"),
    ("list everything", "Unknown list scope 'everything'"),
    ("show 99", "There is no incident #99"),
    ("declare x team:nope", "There is no team 'nope'"),
])
async def test_malformed_commands_get_a_helpful_ephemeral_error(slack, people, text, needle):
    await declare(slack)
    [answer] = await slack.command(text)
    assert answer["response_type"] == "ephemeral"
    assert needle in plain(answer), answer["text"]
    assert answer["blocks"][0]["text"]["text"].startswith(":warning:")


async def test_an_unlinked_user_is_told_how_to_link(slack, people):
    [answer] = await slack.command("declare x", user_id="UNOBODY")
    assert answer["response_type"] == "ephemeral"
    assert "not linked" in answer["text"] and "config file" in answer["text"]
    assert not slack.fake.messages


async def test_an_unlinked_user_with_a_known_email_is_linked(slack, people, container):
    from storage.models import Person

    async with container.db.transaction() as session:
        session.add(Person(name="New Hire", email="new.hire@example.com", created_at=container.clock.now()))
    slack.fake.users["UNEW"] = {"email": "New.Hire@example.com", "name": "newhire"}
    [answer] = await slack.command("link", user_id="UNEW")
    assert "You are New Hire" in answer["text"]
    assert await person_for(container.db, "slack", "UNEW") is not None
    assert slack.fake.calls_to("users.info")[0].args["user"] == "UNEW"


async def test_an_observer_is_refused_ephemerally_and_the_refusal_is_recorded(slack, people, container):
    await declare(slack)
    [answer] = await slack.command("ack 1", user_id="UOBSERVER")
    assert answer["response_type"] == "ephemeral" and "may not acknowledge" in answer["text"]
    kinds = [e.kind for e in await container.queries.timeline(1)]
    assert kinds == ["declared", "refused"]


async def test_a_user_from_another_workspace_is_refused(slack, people):
    [answer] = await slack.command("declare x", team_id="TOTHER")
    assert "own Slack workspace" in answer["text"]
    assert not slack.fake.messages


async def test_user_text_cannot_ping_the_channel(slack, people):
    await slack.command("declare <!channel> everything is on fire team:payments")
    card = slack.card()
    assert card.text == "#1 [medium] &lt;!channel&gt; everything is on fire (open)"  # the notification text
    mrkdwn = [t for t in _texts(card.blocks) if t["type"] == "mrkdwn"]
    assert mrkdwn and not any("<!channel>" in t["text"] for t in mrkdwn)
    assert card.blocks[0]["text"] == {"type": "plain_text", "text": "#1 <!channel> everything is on fire"}


def _texts(node):
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            yield node
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


async def test_the_declare_form_without_a_title_says_so_in_the_form(slack, people):
    await slack.command("declare")
    view = slack.fake.calls_to("views.open")[0].args["view"]
    values = {"title": {"title": {"type": "plain_text_input", "value": "  "}},
              "severity": {"severity": {"type": "static_select", "selected_option": {"value": "high"}}}}
    response = await slack.post(slack.requests.view_submission(view, values))
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {"title": "Give the incident a title."}}
    await slack.settle()
    assert not slack.fake.messages


async def test_an_unexpected_failure_is_answered_not_swallowed(slack, people, container, caplog):
    await container.db.dispose()
    container.db.engine.sync_engine.pool._creator = lambda *a: (_ for _ in ()).throw(OSError("db down"))
    [answer] = await slack.command("show 1")
    assert answer["response_type"] == "ephemeral" and "could not finish" in answer["text"]
    assert "slack listener failed" in caplog.text
