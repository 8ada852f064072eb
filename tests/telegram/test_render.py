"""The pure renderers: escaped HTML, and buttons that follow the incident's state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.commands.reply import Reply
from bot.telegram.callback import CallbackCodec
from bot.telegram.render import MAX_TEXT, render_card_html, render_card_keyboard, render_reply_html
from storage.states import Severity, Status
from storage.views import AlertView, IncidentView, Link, PersonRef, SilenceRef, TeamRef

AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
CODEC = CallbackCodec("123456:TEST")


def view(**changes) -> IncidentView:
    base = IncidentView(
        id=1, number=7, title="Checkout <b>down</b> & out", description=None, status=Status.OPEN,
        severity=Severity.HIGH, service="api<1>", team=TeamRef(1, "pay&ments"), labels={}, dedup_key=None,
        source="slack", created_by=None, assignee=None, acknowledged_by=None, resolved_by=None, created_at=AT,
        acknowledged_at=None, resolved_at=None, updated_at=AT, snoozed_until=None, escalation_policy=None,
        escalation_level=0,
    )
    return dataclasses.replace(base, **changes)


def test_card_escapes_everything_that_came_from_users():
    html = render_card_html(view(assignee=PersonRef(2, "<Eve>"),
                                 links=(Link("Run<book>", 'https://x.test/?a=1&b="2"'),)))
    assert "Checkout &lt;b&gt;down&lt;/b&gt; &amp; out" in html
    assert "pay&amp;ments" in html and "api&lt;1&gt;" in html and "&lt;Eve&gt;" in html
    assert '<a href="https://x.test/?a=1&amp;b=&quot;2&quot;">Run&lt;book&gt;</a>' in html


@pytest.mark.parametrize("status, labels", [
    (Status.OPEN, ["Acknowledge", "Resolve", "Escalate", "Snooze 1h"]),
    (Status.ESCALATING, ["Acknowledge", "Resolve", "Escalate", "Snooze 1h"]),
    (Status.ACKNOWLEDGED, ["Resolve", "Snooze 1h"]),
    (Status.RESOLVED, []),
    (Status.CANCELLED, []),
])
def test_buttons_follow_the_status(status, labels):
    markup = render_card_keyboard(view(status=status), CODEC, -100200)
    buttons = [b for row in markup.inline_keyboard for b in row] if markup else []
    assert [b.text for b in buttons] == labels
    for button in buttons:
        assert len(button.callback_data.encode()) <= 64 and CODEC.decode(button.callback_data, -100200).number == 7


def test_a_long_reply_is_cut_to_telegrams_limit():
    html = render_reply_html(Reply("x" * 10_000))
    assert len(html) <= MAX_TEXT


def test_a_reply_lists_incidents_one_line_each():
    html = render_reply_html(Reply("2 open incidents", incidents=(view(), view(number=8, title="<x>"))))
    assert html.splitlines()[2:] == ["\U0001f534 <b>#7</b> Checkout &lt;b&gt;down&lt;/b&gt; &amp; out \u00b7 high \u00b7 open",
                                     "\U0001f534 <b>#8</b> &lt;x&gt; \u00b7 high \u00b7 open"]


def test_the_silence_line_is_escaped_and_shows_only_while_the_silence_runs_at_the_card_s_change():
    alert = AlertView("f1", "firing", "HighLatency", "", {}, AT, None, 1, AT)
    running = view(source="webhook", alerts=(alert,), silence=SilenceRef("0d21a82b-77", AT + timedelta(hours=4),
                                                                           "<Ben> & co"))
    html = render_card_html(running)
    assert "Silenced until 07:00 UTC 22 Nov by &lt;Ben&gt; &amp; co (silence 0d21a82b\u2026)" in html
    labels = [b.text for row in render_card_keyboard(running, CODEC, -1).inline_keyboard for b in row]
    assert labels[-4:] == ["Silence 1h", "Silence 4h", "Silence 24h", "Expire silence"]

    ended = dataclasses.replace(running, updated_at=AT + timedelta(hours=4, minutes=1))  # changed after its end
    assert "Silenced until" not in render_card_html(ended)
    assert "Expire silence" not in [b.text for row in render_card_keyboard(ended, CODEC, -1).inline_keyboard
                                    for b in row]
