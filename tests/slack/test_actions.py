"""Card buttons: one press changes the incident and every copy of its card; repeats change nothing."""

from __future__ import annotations

from bot.slack import ids
from storage.ports import Destination, Page


async def declared(slack, container):
    await slack.command("declare Checkout is down sev:critical team:payments")
    return slack.card()


def buttons(blocks):
    return [e.get("action_id") for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_acknowledge_updates_every_copy_of_the_card(slack, people, container, clock):
    card = await declared(slack, container)
    view = await container.queries.get(1)
    delivery = await container.senders["slack"].send(Destination("slack", "UTEAM_LEAD"),
                                                     Page(view, "escalation", "You are paged for #1"))
    dm = slack.fake.find("DUTEAM_LEAD", delivery.reference)
    assert dm is not None and buttons(dm.blocks) == buttons(card.blocks)
    clock.advance(minutes=3)

    answers = await slack.press(card.blocks, ids.ACKNOWLEDGE, user_id="URESPONDER")

    assert answers == []  # the card says it all
    incident = await container.queries.get(1)
    assert incident.status == "acknowledged" and incident.acknowledged_by.name == "Responder"
    for copy in (card, dm):
        current = copy.current
        assert current["text"] == "#1 [critical] Checkout is down (acknowledged)"
        assert buttons(current["blocks"]) == [ids.RESOLVE, ids.SNOOZE]
        assert "Acknowledged by Responder" in str(current["blocks"])
    [line] = slack.fake.thread(card)
    assert line.text == "Acknowledged by *Responder* (slack)"


async def test_a_second_press_changes_nothing_and_says_who_did_it_when(slack, people, container, clock):
    card = await declared(slack, container)
    clock.advance(minutes=1)
    await slack.press(card.blocks, ids.ACKNOWLEDGE)
    edits = len(card.edits)
    clock.advance(minutes=1)
    [answer] = await slack.press(card.blocks, ids.ACKNOWLEDGE)  # the stale card, pressed again
    # Telegram's wording for the same repeat (the core's), to the presser only
    assert answer["text"] == "#1 was already acknowledged by Responder at 2026-11-22 03:01 UTC."
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert len(card.edits) == edits and len(slack.fake.thread(card)) == 1
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared", "acknowledged"]


async def test_a_double_click_on_escalate_escalates_once(slack, people, container, clock):
    card = await declared(slack, container)
    first, key1 = slack.requests.button(card.blocks, ids.ESCALATE)
    second, key2 = slack.requests.button(card.blocks, ids.ESCALATE)
    r1, r2 = await slack.post(first), await slack.post(second)
    assert r1.status_code == r2.status_code == 200
    await slack.settle()
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared", "escalated"]
    answers = [r.body["text"] for r in slack.fake.responses if r.key in (key1, key2)]
    assert answers == ["You already pressed Escalate on this card of #1 at 2026-11-22 03:00 UTC; "
                       "nothing was done twice."]


async def test_an_escalation_after_the_card_changed_is_a_new_press(slack, people, container, clock):
    card = await declared(slack, container)
    await slack.press(card.blocks, ids.ESCALATE)
    clock.advance(minutes=5)
    await container.incidents.add_note(1, people.slack("responder"), "still down")
    await slack.settle()
    await slack.press(card.current["blocks"], ids.ESCALATE)
    assert [e.kind for e in await container.queries.timeline(1)] == ["declared", "escalated", "note", "escalated"]


async def test_a_member_claiming_a_leads_name_is_treated_as_the_member(slack, people, container):
    card = await declared(slack, container)
    body, key = slack.requests.button(card.blocks, ids.ESCALATE, user_id="UOBSERVER", user_name="team_lead")
    assert (await slack.post(body)).status_code == 200
    await slack.settle()
    [answer] = [r.body for r in slack.fake.responses if r.key == key]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "Observer (observer) may not escalate" in answer["text"]
    timeline = await container.queries.timeline(1)
    assert [(e.kind, e.actor_name) for e in timeline] == [("declared", "Responder"), ("refused", "Observer")]
    assert card.edits == []


async def test_a_refused_press_can_be_retried_after_linking(slack, people, container):
    card = await declared(slack, container)
    [answer] = await slack.press(card.blocks, ids.ACKNOWLEDGE, user_id="UNEWBIE")
    assert "not linked" in answer["text"]
    from storage.models import Person

    async with container.db.transaction() as session:
        session.add(Person(name="Newbie", email="newbie@example.com", created_at=container.clock.now()))
    slack.fake.users["UNEWBIE"] = {"email": "newbie@example.com"}
    [answer] = await slack.press(card.blocks, ids.ACKNOWLEDGE, user_id="UNEWBIE")
    assert "may not acknowledge" in answer["text"]  # now known, and refused for lack of a role


async def test_the_snooze_menu_snoozes(slack, people, container, clock):
    card = await declared(slack, container)
    await slack.press(card.blocks, ids.SNOOZE, option={"value": "1:2h", "text": {"type": "plain_text", "text": "x"}})
    incident = await container.queries.get(1)
    assert incident.snoozed_until == clock.now().replace(hour=5)
    assert "Snoozed until" in str(card.current["blocks"])


async def test_resolve_removes_the_buttons(slack, people, container, clock):
    card = await declared(slack, container)
    clock.advance(minutes=10)
    await slack.press(card.blocks, ids.RESOLVE)
    assert buttons(card.current["blocks"]) == []
    assert "Resolved by Responder" in str(card.current["blocks"])


async def test_a_change_from_another_surface_updates_the_card(slack, people, container, clock):
    card = await declared(slack, container)
    clock.advance(minutes=2)
    await container.incidents.acknowledge(1, people.telegram("responder"))
    await slack.settle()
    assert card.current["text"].endswith("(acknowledged)")
    [line] = slack.fake.thread(card)
    assert line.text == "Acknowledged by *Responder* (telegram)"
    assert "<@" not in line.text


async def test_a_button_from_an_unknown_version_is_answered(slack, people, container):
    await declared(slack, container)
    body, key = slack.requests.action({"type": "button", "action_id": "incident.acknowledge.v0", "value": "1"})
    response = await slack.post(body)
    assert response.status_code in (200, 404)  # Bolt answers what no listener matched
    assert (await container.queries.get(1)).status == "open"
