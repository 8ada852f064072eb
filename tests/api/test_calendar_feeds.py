"""``GET /calendar/<token>.ics``: a schedule's and a person's shifts as RFC 5545 feeds a calendar subscribes to."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import icalendar

from storage import ical, oncall
from storage.models import Person
from storage.oncall import Layer, Restriction, Rule, Schedule
from tests.escalation.conftest import store_schedules

# The fake clock starts at Sun 2026-11-22 03:00 UTC; the feed covers 15 Nov 00:00 UTC to 22 Jan 00:00 UTC.
PAYMENTS = Schedule("payments-primary", "payments", "Europe/Lisbon", (
    Layer("weekly", ("responder@example.com", "team_lead@example.com"), Rule("weekly", at=time(9), weekday=0),
          date(2026, 11, 2)),
    Layer("business-hours", ("outsider@example.com",), Rule("daily", at=time(9)), date(2026, 11, 2),
          Restriction(frozenset(range(5)), time(9), time(17))),))
PLATFORM = Schedule("platform, night; shift", "platform", "America/New_York", (
    Layer("daily", ("responder@example.com",), Rule("daily", at=time(9)), date(2026, 11, 2)),))


async def _token(container, kind, subject, rotate=False):
    async with container.db.transaction() as session:
        return (await ical.feed(session, kind, subject, container.clock.now(), rotate)).token


def _events(body: bytes) -> list[tuple[str, datetime, datetime, str]]:
    cal = icalendar.Calendar.from_ical(body)
    return [(str(e["SUMMARY"]), e.decoded("DTSTART"), e.decoded("DTEND"), str(e["UID"])) for e in cal.walk("VEVENT")]


async def test_a_schedule_feed_parses_and_matches_the_timeline(http, container):
    await store_schedules(container, PAYMENTS, PLATFORM)
    token = await _token(container, ical.SCHEDULE, "payments-primary")
    response = await http.get(f"/calendar/{token}.ics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    raw = response.content
    assert raw.count(b"\r\n") == raw.count(b"\n"), "every line ends in CRLF"
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "lines are folded at 75 octets"
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["VERSION"] == "2.0" and cal["CALSCALE"] == "GREGORIAN" and "Tocsin" in cal["PRODID"]
    assert cal["X-WR-CALNAME"] == "On call: payments-primary"
    start, end = datetime(2026, 11, 15, tzinfo=UTC), datetime(2027, 1, 22, tzinfo=UTC)
    expected = [(f"On call: payments-primary: {s.who}", s.start, s.end) for s in oncall.timeline(PAYMENTS, start, end)
                if s.who]
    events = _events(raw)
    assert [e[:3] for e in events] == expected
    assert ("On call: payments-primary: outsider@example.com", datetime(2026, 11, 23, 9, tzinfo=UTC),
            datetime(2026, 11, 23, 17, tzinfo=UTC)) in expected  # weekday business hours win over the week
    assert all(e[1].utcoffset() == e[2].utcoffset() == timedelta(0) for e in events)
    assert len({e[3] for e in events}) == len(events), "one UID per shift"
    for event in cal.walk("VEVENT"):
        assert event.decoded("DTSTAMP") == container.clock.now()

    container.clock.advance(hours=5)  # later the same day: the same shifts keep their UIDs
    again = _events((await http.get(f"/calendar/{token}.ics")).content)
    assert [e[3] for e in again] == [e[3] for e in events]


async def test_a_person_feed_has_their_shifts_of_every_schedule_and_long_names_fold(http, container):
    await store_schedules(container, PAYMENTS, PLATFORM)
    token = await _token(container, ical.PERSON, "responder@example.com")
    raw = (await http.get(f"/calendar/{token}.ics")).content
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["X-WR-CALNAME"] == "On call: responder@example.com"
    start, end = datetime(2026, 11, 15, tzinfo=UTC), datetime(2027, 1, 22, tzinfo=UTC)
    expected = sorted((s.start, f"On call: {sched.name}", s.end) for sched in (PAYMENTS, PLATFORM)
                      for s in oncall.timeline(sched, start, end) if s.who == "responder@example.com")
    assert sorted((e[1], e[0], e[2]) for e in _events(raw)) == expected
    assert "On call: platform, night; shift" in {e[0] for e in _events(raw)}  # commas and semicolons escaped
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))


async def test_a_wrong_rotated_or_revoked_token_is_404(http, container):
    await store_schedules(container, PAYMENTS)
    old = await _token(container, ical.SCHEDULE, "payments-primary")
    assert (await _token(container, ical.SCHEDULE, "payments-primary")) == old, "showing keeps the token"
    assert (await http.get(f"/calendar/{old[:-1]}x.ics")).status_code == 404
    assert (await http.get("/calendar/.ics")).status_code == 404
    new = await _token(container, ical.SCHEDULE, "payments-primary", rotate=True)
    assert new != old and len(new) >= 43
    gone = await http.get(f"/calendar/{old}.ics")
    assert gone.status_code == 404 and "tocsin oncall feed" in gone.json()["detail"]
    assert (await http.get(f"/calendar/{new}.ics")).status_code == 200
    async with container.db.transaction() as session:
        assert await ical.revoke(session, ical.SCHEDULE, "payments-primary")
    assert (await http.get(f"/calendar/{new}.ics")).status_code == 404


async def test_a_feed_of_a_person_made_inactive_or_a_schedule_removed_is_404(http, container):
    await store_schedules(container, PAYMENTS)
    person = await _token(container, ical.PERSON, "responder@example.com")
    schedule = await _token(container, ical.SCHEDULE, "payments-primary")
    async with container.db.transaction() as session:
        await session.execute(Person.__table__.update().where(Person.email == "responder@example.com")
                              .values(active=False))
    assert (await http.get(f"/calendar/{person}.ics")).status_code == 404
    await store_schedules(container)
    assert (await http.get(f"/calendar/{schedule}.ics")).status_code == 404


async def test_an_override_made_through_the_api_is_in_the_schedule_and_person_feeds(http, as_token, container):
    await store_schedules(container, PAYMENTS)
    made = await http.post("/api/oncall/overrides", headers=as_token("admin"), json={
        "schedule": "payments-primary", "person": "manager@example.com", "start": "2026-11-28T10:00",
        "end": "2026-11-28T14:00"})
    assert made.status_code == 201, made.text
    schedule = await _token(container, ical.SCHEDULE, "payments-primary")
    events = _events((await http.get(f"/calendar/{schedule}.ics")).content)
    cover = ("On call: payments-primary: manager@example.com", datetime(2026, 11, 28, 10, tzinfo=UTC),
             datetime(2026, 11, 28, 14, tzinfo=UTC))
    assert cover in [e[:3] for e in events]
    covered = [e for e in events if e[0].endswith("responder@example.com") and e[1] < cover[2] and e[2] > cover[1]]
    assert covered == [], "the responder's week is cut around the override"
    person = await _token(container, ical.PERSON, "manager@example.com")
    assert [e[1:3] for e in _events((await http.get(f"/calendar/{person}.ics")).content)] == [cover[1:]]
