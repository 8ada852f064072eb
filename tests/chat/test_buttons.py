"""The one button map: the wire ids cards already carry still mean what they meant, on every platform."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.chat import buttons
from bot.slack import ids
from bot.telegram import callback


def test_wire_ids_already_posted_keep_their_verbs():
    assert dict(buttons.SLACK) == {"incident.acknowledge.v1": "ack", "incident.resolve.v1": "resolve",
                                   "incident.escalate.v1": "escalate", "incident.snooze.v1": "snooze",
                                   "incident.silence.v1": "silence", "incident.unsilence.v1": "unsilence"}
    assert dict(buttons.TELEGRAM) == {"ack": "ack", "res": "resolve", "esc": "escalate", "snz": "snooze",
                                      "sl1": "silence-preview", "sl4": "silence-preview", "sl24": "silence-preview",
                                      "sc1": "silence", "sc4": "silence", "sc24": "silence", "uns": "unsilence"}
    assert (ids.ACKNOWLEDGE, ids.RESOLVE, ids.ESCALATE, ids.SNOOZE, ids.SILENCE, ids.UNSILENCE) == tuple(buttons.SLACK)
    assert (callback.ACK, callback.RESOLVE, callback.ESCALATE, callback.SNOOZE) == tuple(buttons.TELEGRAM)[:4]
    assert callback.CANCEL_SILENCE not in buttons.TELEGRAM  # Telegram's own: it only edits the preview
    assert dict(buttons.CONSOLE) == {"ack": "ack", "resolve": "resolve", "escalate": "escalate",  # open boards' forms
                                     "unsilence": "unsilence"}


@pytest.mark.parametrize(("wire", "hours"), [("1", 1), ("4", 4), ("24", 24)])
def test_telegram_s_silence_buttons_preview_then_confirm_the_command_s_silence(wire, hours):
    preview = buttons.command(buttons.TELEGRAM[f"sl{wire}"], 3, buttons.TELEGRAM_DURATIONS[f"sl{wire}"])
    confirm = buttons.command(buttons.TELEGRAM[f"sc{wire}"], 3, buttons.TELEGRAM_DURATIONS[f"sc{wire}"])
    assert (preview.name, preview.number, preview.duration, preview.scope) == ("silence", 3, timedelta(hours=hours),
                                                                                 None)
    assert (confirm.name, confirm.duration, confirm.scope) == ("silence", timedelta(hours=hours), "confirm")


@pytest.mark.parametrize("verb", buttons.VERBS)
def test_every_platform_s_button_for_a_verb_means_the_same_command(verb):
    slack, telegram = (buttons.command(table[buttons.wire_id(table, verb)], 3)
                       for table in (buttons.SLACK, buttons.TELEGRAM))
    assert slack == telegram and (slack.name, slack.number) == (verb, 3)
    assert slack.duration == (timedelta(hours=1) if verb == buttons.SNOOZE else None)


def test_a_verb_no_button_has_is_refused():
    with pytest.raises(ValueError):
        buttons.command("cancel", 3)
