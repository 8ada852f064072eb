"""The on-call timeline engine on a fake clock: handoffs across DST, layers, restrictions, overrides."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config_file import ConfigError, parse
from storage.oncall import Layer, Override, Restriction, Rule, Schedule, on_call, timeline


def _utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def _one(zone: str, rule: Rule, start: date = date(2026, 1, 5), restriction: Restriction | None = None) -> Schedule:
    return Schedule("s", None, zone, (Layer("l", ("a", "b"), rule, start, restriction),))


def _starts(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    return [s.start for s in timeline(schedule, start, end)][1:]


def test_weekly_lisbon_stays_at_nine_local_across_both_dst_changes() -> None:
    s = _one("Europe/Lisbon", Rule("weekly", at=time(9), weekday=0))
    zone = ZoneInfo("Europe/Lisbon")
    spring = _starts(s, _utc(2026, 3, 20), _utc(2026, 4, 10))  # DST starts Sun 29 March (a 23-hour day)
    assert spring == [_utc(2026, 3, 23, 9), _utc(2026, 3, 30, 8), _utc(2026, 4, 6, 8)]
    autumn = _starts(s, _utc(2026, 10, 20), _utc(2026, 11, 5))  # DST ends Sun 25 October (a 25-hour day)
    assert autumn == [_utc(2026, 10, 26, 9), _utc(2026, 11, 2, 9)]
    assert all(t.astimezone(zone).hour == 9 for t in spring + autumn)
    week = timeline(s, _utc(2026, 3, 23, 9), _utc(2026, 3, 30, 8))
    assert len(week) == 1 and week[0].end - week[0].start == timedelta(days=7, hours=-1)


@pytest.mark.parametrize(("zone", "day", "utc_before", "utc_after"), [
    ("America/New_York", date(2026, 3, 8), 14, 13),   # spring forward: 09:00 EST = 14:00Z, then EDT = 13:00Z
    ("America/New_York", date(2026, 11, 1), 13, 14),  # fall back
    ("Australia/Sydney", date(2026, 4, 5), 22, 23),   # southern autumn: DST ends, 09:00 AEDT = 22:00Z prev day
    ("Australia/Sydney", date(2026, 10, 4), 23, 22),  # southern spring: DST starts
])
def test_daily_handoff_keeps_local_time(zone: str, day: date, utc_before: int, utc_after: int) -> None:
    s = _one(zone, Rule("daily", at=time(9)))
    tz = ZoneInfo(zone)
    start = datetime.combine(day - timedelta(days=2), time(12), tzinfo=tz)
    handoffs = _starts(s, start, start + timedelta(days=4))
    assert [h.astimezone(tz).time() for h in handoffs] == [time(9)] * 4
    assert handoffs[0].hour == utc_before and handoffs[-1].hour == utc_after
    whos = [x.who for x in timeline(s, start, start + timedelta(days=4))]
    assert whos[:3] in (["a", "b", "a"], ["b", "a", "b"])


def test_every_12_hours_counts_elapsed_hours_across_dst() -> None:
    s = _one("Europe/Lisbon", Rule("hours", hours=12, at=time(0)), start=date(2026, 3, 28))
    handoffs = _starts(s, _utc(2026, 3, 28, 0, 30), _utc(2026, 3, 30, 6))
    assert [h.astimezone(ZoneInfo("Europe/Lisbon")).hour for h in handoffs] == [12, 0, 13, 1]  # wall clock moves
    assert [b - a for a, b in zip(handoffs, handoffs[1:], strict=False)] == [timedelta(hours=12)] * 3
    assert handoffs[0] == _utc(2026, 3, 28, 12)  # the layer starts at 00:00 local (UTC+0 in winter)


def test_later_layer_with_restriction_wins_only_inside_its_window() -> None:
    base = Layer("week", ("a", "b"), Rule("weekly", at=time(9)), date(2026, 1, 5))
    day = Layer("day", ("c",), Rule("daily", at=time(9)), date(2026, 1, 5),
                Restriction(frozenset(range(5)), time(9), time(17)))
    s = Schedule("s", None, "Europe/Lisbon", (base, day))
    assert on_call(s, _utc(2026, 1, 6, 10)) == ("c", "day")
    assert on_call(s, _utc(2026, 1, 6, 18)) == ("a", "week")
    assert on_call(s, _utc(2026, 1, 10, 10)) == ("a", "week")  # Saturday: the restriction's weekdays
    assert on_call(s, _utc(2026, 1, 12, 8)) == ("a", "week")   # before Monday's handoff
    assert on_call(s, _utc(2026, 1, 12, 18)) == ("b", "week")
    night = Restriction(frozenset({4}), time(22), time(6))  # Friday 22:00 to Saturday 06:00
    assert night.allows(datetime(2026, 1, 10, 3)) and not night.allows(datetime(2026, 1, 9, 3))


def test_override_wins_and_a_later_override_of_the_override_wins_again() -> None:
    s = _one("UTC", Rule("daily", at=time(9)))
    first = Override("x", _utc(2026, 2, 2, 12), _utc(2026, 2, 2, 20), created_at=_utc(2026, 2, 1))
    second = Override("y", _utc(2026, 2, 2, 14), _utc(2026, 2, 2, 16), created_at=_utc(2026, 2, 1, 1))
    shifts = timeline(s, _utc(2026, 2, 2, 10), _utc(2026, 2, 2, 22), [second, first])
    assert [(x.who, x.start.hour, x.end.hour, x.layer) for x in shifts] == [
        ("a", 10, 12, "l"), ("x", 12, 14, "override"), ("y", 14, 16, "override"), ("x", 16, 20, "override"),
        ("a", 20, 22, "l")]


def test_nobody_before_the_rotation_starts() -> None:
    s = _one("UTC", Rule("daily", at=time(9)), start=date(2026, 2, 1))
    assert on_call(s, _utc(2026, 2, 1, 8)) == (None, None)
    assert on_call(s, _utc(2026, 2, 1, 9)) == ("a", "l")


def _config(schedule: dict) -> dict:
    return {"teams": [{"name": "payments"}],
            "people": [{"name": "Ana", "email": "ana@example.com", "teams": {"payments": "responder"}}],
            "schedules": [{"name": "p", "team": "payments", "timezone": "Europe/Lisbon",
                           "layers": [{"members": ["ana@example.com"], "handoff": {"every": "day", "at": "09:00"}}],
                           **schedule}]}


@pytest.mark.parametrize(("change", "key"), [
    ({"timezone": "Europe/Lisbo"}, "schedules[0].timezone"),
    ({"layers": [{"members": ["zed@example.com"], "handoff": {"every": "day"}}]}, "schedules[0].layers[0].members[0]"),
    ({"layers": [{"members": ["ana@example.com"], "handoff": {"every": "fortnight"}}]},
     "schedules[0].layers[0].handoff.every"),
    ({"layers": [{"members": ["ana@example.com"], "handoff": {"every": "day", "at": "25:00"}}]},
     "schedules[0].layers[0].handoff.at"),
    ({"layers": [{"members": ["ana@example.com"], "handoff": {"every": "day"}, "restrict": {"weekdays": ["funday"]}}]},
     "schedules[0].layers[0].restrict.weekdays[0]"),
    ({"team": "nope"}, "schedules[0].team"),
    ({"handoff_notice": {"channel": "yes"}}, "schedules[0].handoff_notice.channel"),
    ({"handoff_notice": {"sms": True}}, "schedules[0].handoff_notice.sms"),
    ({"remind_before": "soon"}, "schedules[0].remind_before"),
    ({"remind_before": "0h"}, "schedules[0].remind_before"),
])
def test_config_check_names_the_offending_key(change: dict, key: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(key) + ": "):
        parse(_config(change), env={})


def test_config_parses_a_good_schedule() -> None:
    (s,) = parse(_config({}), env={}).schedules
    assert s.name == "p" and s.layers[0].rule == Rule("daily", at=time(9))


def test_handoff_notices_default_to_a_dm_and_survive_the_stored_document() -> None:
    from datetime import timedelta

    from storage.oncall import from_document, to_document

    (plain,) = parse(_config({}), env={}).schedules
    assert (plain.notify_dm, plain.notify_channel, plain.remind_before) == (True, False, None)
    (s,) = parse(_config({"handoff_notice": {"dm": False, "channel": True}, "remind_before": "90m"}),
                 env={}).schedules
    assert (s.notify_dm, s.notify_channel, s.remind_before) == (False, True, timedelta(minutes=90))
    assert from_document(to_document(s)) == s
    older = {k: v for k, v in to_document(plain).items() if k not in ("handoff_notice", "remind_before")}
    assert from_document(older) == plain  # a document applied before these keys existed


def test_an_override_is_a_handoff_to_the_coverer_and_back() -> None:
    from escalation.handoffs import due
    from storage.oncall import Override

    s = Schedule("p", None, "Europe/Lisbon", (Layer("w", ("ana", "ben"), Rule("weekly", at=time(9)),
                                                    date(2026, 11, 2)),))
    cover = [Override("dana", _utc(2026, 11, 24, 10), _utc(2026, 11, 24, 12))]
    assert due(s, _utc(2026, 11, 24, 9, 59), cover) == []
    (to_dana,) = due(s, _utc(2026, 11, 24, 10), cover)
    assert to_dana.direct() == "You are on call for p until Tue 24 Nov 12:00 Europe/Lisbon"
    (back,) = due(s, _utc(2026, 11, 24, 12, 14), cover)  # still within the 15 minutes looked back
    assert (back.who, back.direct()) == ("ben", "You are on call for p until Mon 30 Nov 09:00 Europe/Lisbon")
    assert due(s, _utc(2026, 11, 24, 12, 16), cover) == []  # later than that: not sent late
