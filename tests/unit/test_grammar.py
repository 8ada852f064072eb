"""The /incident grammar shared by Slack, Telegram and the shell."""

from datetime import timedelta

import pytest

from bot.commands.grammar import UsageError, parse
from storage.states import Severity


def test_declare_with_fields_in_any_order():
    cmd = parse('declare "Checkout 502s" sev:high service:checkout team:payments after deploy')
    assert (cmd.name, cmd.text, cmd.severity, cmd.service, cmd.team) == (
        "declare", "Checkout 502s after deploy", Severity.HIGH, "checkout", "payments")


def test_declare_without_title_is_allowed_for_the_modal():
    assert parse("declare").text is None


@pytest.mark.parametrize(("text", "expected"), [
    ("ack 42", ("ack", 42)), ("acknowledge #42", ("ack", 42)), ("resolve 7 fixed by rollback", ("resolve", 7)),
    ("show #3", ("show", 3)), ("timeline 3", ("timeline", 3)), ("escalate 9", ("escalate", 9)),
])
def test_numbered_commands(text, expected):
    cmd = parse(text)
    assert (cmd.name, cmd.number) == expected


def test_resolve_note_and_cancel_reason():
    assert parse("resolve 7 fixed by rollback").text == "fixed by rollback"
    assert parse("cancel 7 duplicate of #6").text == "duplicate of #6"


def test_snooze_severity_assign_list_stats():
    assert parse("snooze 4 30m").duration == timedelta(minutes=30)
    assert parse("snooze 4 2h").duration == timedelta(hours=2)
    assert parse("severity 4 sev1").severity is Severity.CRITICAL
    assert parse("assign 4 <@U123|ana>").target == "<@U123|ana>"
    assert (parse("list team payments").scope, parse("list team payments").team) == ("team", "payments")
    assert parse("list").scope == "open"
    stats = parse("stats 30d payments")
    assert (stats.duration, stats.team) == (timedelta(days=30), "payments")
    assert parse("escalate preview 5").scope == "preview"


def test_empty_text_means_help():
    assert parse("").name == "help"


@pytest.mark.parametrize(("text", "message"), [
    ("frobnicate 3", "Unknown subcommand 'frobnicate'"),
    ("ack", "'ack' needs an incident number.\nUsage: /incident ack <number>"),
    ("ack forty", "'forty' is not an incident number"),
    ("ack 4 5", "'ack' takes only an incident number"),
    ("snooze 4 soon", "'soon' is not a duration; write it like 30m or 2h"),
    ("severity 4 apocalyptic", "Unknown severity 'apocalyptic'"),
    ("declare x sev:extreme", "Unknown severity 'extreme'"),
    ("note 4", "'note' needs some text"),
    ("assign 4", "'assign' needs exactly one person"),
    ("list sideways", "Unknown list scope 'sideways'"),
])
def test_bad_input_says_what_was_wrong_and_how_to_write_it(text, message):
    with pytest.raises(UsageError) as exc:
        parse(text)
    assert message in str(exc.value)
