"""Inline buttons: a press acts through the core, every copy of the card follows, forged presses change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from bot.telegram.callback import ACTIONS, CallbackCodec
from storage.ports import Destination, Page
from tests.fakes.telegram_api import FakeMessage
from tests.telegram.harness import GROUP, user_id

RESPONDER = 1002


async def declare(bot, people) -> FakeMessage:
    """Declare #1 for payments from Slack; return its card in the team's group."""
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Checkout down", team="payments")
    await bot.runtime.drain()
    [card] = [m for m in bot.tg.messages_in(GROUP) if "Incident #1" in m.text]
    return card


async def press(bot, message: FakeMessage, uid: int, data: str, **kwargs) -> dict:
    """Press a button; return the answerCallbackQuery the bot made to it."""
    update = bot.tg.press(message, uid, data, **kwargs)
    before = len(bot.tg.calls_to("answerCallbackQuery"))
    assert (await bot.post(update)).status_code == 200
    [answer] = [c for c in bot.tg.calls[:] if c.method == "answerCallbackQuery"][before:]
    assert answer.params["callback_query_id"] == update["callback_query"]["id"]
    return answer.params


async def test_acknowledge_button_edits_every_copy_and_a_second_press_is_a_noop(bot, people):
    card = await declare(bot, people)
    view = await bot.runtime.container.queries.get(1)
    page = Page(view, "escalation", "You are paged for #1")
    await bot.runtime.container.senders["telegram"].send(
        Destination("telegram", str(RESPONDER), person_id=people.ids["responder"]), page)
    dm = bot.tg.last_message(RESPONDER)
    assert "You are paged for #1" in dm.text and dm.button("Acknowledge")

    ack_data = card.button("Acknowledge")["callback_data"]
    answer = await press(bot, card, RESPONDER, ack_data)
    assert answer["text"] == "#1 acknowledged by Responder." and not answer.get("show_alert")
    assert (await bot.runtime.container.queries.get(1)).status == "acknowledged"
    for copy in (card, dm):
        assert "Status: acknowledged" in copy.text and "Acknowledged by Responder" in copy.text
        assert [b["text"] for b in copy.buttons()] == ["Resolve", "Snooze 1h"]
        assert copy.edits == 1

    again = await press(bot, card, user_id(people, "team_lead"), ack_data)  # a stale card, or a double tap
    assert "already acknowledged by Responder" in again["text"] and not again.get("show_alert")
    assert card.edits == 1 and dm.edits == 1
    kinds = [e.kind for e in await bot.runtime.container.queries.timeline(1)]
    assert kinds.count("acknowledged") == 1


async def test_resolve_button_closes_the_incident_and_removes_the_buttons(bot, people):
    card = await declare(bot, people)
    answer = await press(bot, card, RESPONDER, card.button("Resolve")["callback_data"])
    assert answer["text"] == "#1 resolved by Responder."
    assert "Status: resolved" in card.text and card.buttons() == []


async def test_escalate_and_snooze_buttons(bot, people):
    card = await declare(bot, people)
    assert "#1 escalated" in (await press(bot, card, RESPONDER, card.button("Escalate")["callback_data"]))["text"]
    assert "Status: escalating" in card.text
    assert "snoozed until" in (await press(bot, card, RESPONDER, card.button("Snooze")["callback_data"]))["text"]
    assert "Snoozed until" in card.text


async def test_a_double_tap_on_escalate_escalates_once_and_says_so(bot, people):
    """Both taps carry the card as it was (they left before it was edited): one escalation, not two levels."""
    card = await declare(bot, people)
    escalate = card.button("Escalate")["callback_data"]
    first, second = (bot.tg.press(card, RESPONDER, escalate) for _ in range(2))
    for update in (first, second):
        assert (await bot.post(update)).status_code == 200
    answers = [c["text"] for c in bot.tg.calls_to("answerCallbackQuery")]
    assert "#1 escalated" in answers[0]
    assert answers[1].startswith("You already pressed Escalate on this card of #1 at ")
    assert "nothing was done twice" in answers[1]
    kinds = [e.kind for e in await bot.runtime.container.queries.timeline(1)]
    assert kinds.count("escalated") == 1

    await bot.runtime.drain()  # the card now shows the escalation: a press on it is a new one
    assert card.edit_date is not None
    assert "#1 escalated" in (await press(bot, card, RESPONDER, escalate))["text"]
    kinds = [e.kind for e in await bot.runtime.container.queries.timeline(1)]
    assert kinds.count("escalated") == 2


@pytest.mark.parametrize("role", ["observer", "stakeholder", "outsider"])
async def test_unauthorised_press_is_refused_with_an_alert_and_changes_nothing(bot, people, role):
    card = await declare(bot, people)
    answer = await press(bot, card, user_id(people, role), card.button("Acknowledge")["callback_data"])
    assert answer["show_alert"] is True and "may not acknowledge" in answer["text"]
    assert (await bot.runtime.container.queries.get(1)).status == "open"
    assert card.edits == 0


async def test_a_press_that_outlasts_the_answer_window_is_answered_at_once_and_refused_in_the_chat(bot, people):
    """Telegram's client spins until the press is answered: past the window the presser reads "Working on
    it", and a refusal that comes later is said under the card, so the spinner never hides it."""
    card = await declare(bot, people)
    bot.runtime.buttons.answer_within = 0.0
    answer = await press(bot, card, user_id(people, "observer"), card.button("Acknowledge")["callback_data"])
    assert answer["text"] == "Working on it\u2026" and not answer.get("show_alert")
    [late] = [p for p in bot.tg.calls_to("sendMessage") if "may not acknowledge" in p["text"]]
    assert late["chat_id"] == GROUP and late["reply_parameters"]["message_id"] == card.message_id
    assert (await bot.runtime.container.queries.get(1)).status == "open"

    answer = await press(bot, card, RESPONDER, card.button("Acknowledge")["callback_data"])
    assert answer["text"] == "Working on it\u2026"
    assert (await bot.runtime.container.queries.get(1)).status == "acknowledged" and "Status: acknowledged" in card.text


async def test_press_by_an_unlinked_user_gets_a_short_alert_and_the_whole_instructions_by_message(bot, people):
    card = await declare(bot, people)
    answer = await press(bot, card, 555555, card.button("Acknowledge")["callback_data"])
    assert answer["show_alert"] is True and "not linked" in answer["text"] and len(answer["text"]) <= 200
    assert "in a message" in answer["text"] and not answer["text"].endswith("\u2026")
    [dm] = bot.tg.messages_in(555555)
    assert dm.text.endswith("Then send /start CODE to me in a private chat.") and "tocsin link-code" in dm.text
    assert (await bot.runtime.container.queries.get(1)).status == "open"


async def test_an_unlinked_user_who_never_started_the_bot_gets_the_instructions_under_the_card(bot, people):
    card = await declare(bot, people)
    bot.tg.blocked.add(555555)  # the bot may not message someone who never opened a chat with it
    answer = await press(bot, card, 555555, card.button("Acknowledge")["callback_data"], first_name="Eve")
    assert answer["show_alert"] is True and "not linked" in answer["text"]
    reply = bot.tg.last_message(GROUP)
    assert reply.text.startswith("Eve: Your Telegram account is not linked") and "tocsin link-code" in reply.text
    assert bot.tg.calls_to("sendMessage")[-1]["reply_parameters"]["message_id"] == card.message_id


@pytest.mark.parametrize("forge, says", [
    (lambda data: data.replace(":1:", ":2:"), "tampered"),
    (lambda data: data.replace(":ack:", ":res:"), "tampered"),
    (lambda data: data[:-3] + "AAA", "tampered"),
    (lambda data: data.replace(":v2:", ":v0:"), "older version"),
    (lambda data: "inc:v1:drop:1:xxxxxxxxxxxx", "older version"),
    (lambda data: "hello", "not one of Tocsin's"),
    (lambda data: "", "not one of Tocsin's"),
])
async def test_forged_or_stale_button_data_is_refused_and_never_reaches_the_core(bot, people, forge, says):
    card = await declare(bot, people)
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Other", team="payments")
    await bot.runtime.drain()
    answer = await press(bot, card, RESPONDER, forge(card.button("Acknowledge")["callback_data"]))
    assert answer["show_alert"] is True and says in answer["text"]
    for number in (1, 2):
        assert (await bot.runtime.container.queries.get(number)).status == "open"
        assert "refused" not in [e.kind for e in await bot.runtime.container.queries.timeline(number)]
    assert card.edits == 0


async def test_genuine_button_for_a_missing_incident_is_refused(bot, people):
    card = await declare(bot, people)
    answer = await press(bot, card, RESPONDER, bot.runtime.codec.encode("ack", 404, GROUP))
    assert answer["show_alert"] is True and "does not belong to this card" in answer["text"]


def test_callback_data_fits_in_64_bytes():
    codec = CallbackCodec("123456:" + "x" * 40)
    for action in ACTIONS:
        data = codec.encode(action, 2**31 - 1, -1009999999999)
        assert len(data.encode()) <= 64
        assert codec.decode(data, -1009999999999).number == 2**31 - 1


async def test_a_button_from_an_outdated_card_is_refused_with_the_reason(bot, people):
    card = await declare(bot, people)
    escalate = card.button("Escalate")["callback_data"]
    acknowledge = card.button("Acknowledge")["callback_data"]
    await bot.runtime.container.incidents.acknowledge(1, people.slack("responder"))
    answer = await press(bot, card, RESPONDER, escalate)
    assert answer["show_alert"] is True and "already acknowledged" in answer["text"]
    await bot.runtime.container.incidents.resolve(1, people.slack("responder"))
    await bot.runtime.drain()
    edits = card.edits
    answer = await press(bot, card, RESPONDER, acknowledge)
    assert answer["show_alert"] is True and "#1 cannot be acknowledged" in answer["text"]
    assert (await bot.runtime.container.queries.get(1)).status == "resolved" and card.edits == edits


def v1_data(token: str, action: str, number: int) -> str:
    """Button data as the previous version signed it (cards posted before the upgrade still carry it)."""
    key = hashlib.sha256(b"tocsin-telegram-callback:" + token.encode()).digest()
    mac = hmac.new(key, f"v1:{action}:{number}".encode(), hashlib.sha256).digest()
    return f"inc:v1:{action}:{number}:{base64.urlsafe_b64encode(mac[:9]).decode()}"


async def test_a_genuine_button_of_one_card_pressed_under_another_changes_nothing(bot, people):
    first = await declare(bot, people)
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Other", team="payments")
    await bot.runtime.drain()
    second = bot.tg.last_message(GROUP)
    assert "Incident #2" in second.text
    answer = await press(bot, first, RESPONDER, second.button("Resolve")["callback_data"])
    assert answer["show_alert"] is True and "does not belong to this card" in answer["text"]
    for number in (1, 2):
        assert (await bot.runtime.container.queries.get(number)).status == "open"
    assert first.edits == 0 and second.edits == 0


async def test_a_button_of_a_direct_message_pressed_under_the_group_card_changes_nothing(bot, people):
    card = await declare(bot, people)
    page = Page(await bot.runtime.container.queries.get(1), "escalation", "You are paged for #1")
    await bot.runtime.container.senders["telegram"].send(
        Destination("telegram", str(RESPONDER), person_id=people.ids["responder"]), page)
    dm = bot.tg.last_message(RESPONDER)
    answer = await press(bot, card, RESPONDER, dm.button("Acknowledge")["callback_data"])
    assert answer["show_alert"] is True and "belongs to another chat" in answer["text"]
    assert (await bot.runtime.container.queries.get(1)).status == "open"
    answer = await press(bot, dm, RESPONDER, dm.button("Acknowledge")["callback_data"])
    assert answer["text"] == "#1 acknowledged by Responder."


async def test_a_button_posted_by_the_previous_version_still_works_under_its_own_card(bot, people):
    card = await declare(bot, people)
    answer = await press(bot, card, RESPONDER, v1_data(bot.tg.token, "ack", 1))
    assert answer["text"] == "#1 acknowledged by Responder."
    assert card.button("Resolve")["callback_data"].startswith("inc:v2:res:1:")  # the edit re-signed it


async def test_a_button_of_the_previous_version_under_another_card_is_refused(bot, people):
    card = await declare(bot, people)
    await bot.runtime.container.incidents.declare(people.slack("responder"), "Other", team="payments")
    await bot.runtime.drain()
    answer = await press(bot, card, RESPONDER, v1_data(bot.tg.token, "res", 2))
    assert answer["show_alert"] is True and "does not belong to this card" in answer["text"]
    assert (await bot.runtime.container.queries.get(2)).status == "open"
