"""On-call calendar feeds (RFC 5545): the iCalendar text of a schedule's or a person's shifts, and the secret
tokens of their URLs (``calendar_feed``), shown, rotated and revoked by ``tocsin oncall feed``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall
from storage.models import CalendarFeed

PRODID = "-//Tocsin//On-call calendar//EN"
BEHIND = timedelta(days=7)  # the window of a feed: from 7 days back ...
AHEAD = timedelta(days=60)  # ... to 60 days ahead, in whole UTC days so that a shift's UID stays put for a day
SCHEDULE, PERSON = "schedule", "person"


@dataclass(frozen=True)
class Feed:
    kind: str  # SCHEDULE or PERSON
    subject: str  # the schedule's name, or the person's email
    token: str


def window(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - BEHIND, day + AHEAD + timedelta(days=1)


# -- the text -----------------------------------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def uid(schedule: str, shift: oncall.Shift) -> str:
    """The same shift (schedule, person, start, layer) gets the same UID on every fetch."""
    key = f"{schedule}\0{shift.who}\0{shift.start.astimezone(UTC).isoformat()}\0{shift.layer}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@tocsin"


def render(name: str, shifts: list[tuple[str, oncall.Shift]], now: datetime, person_feed: bool) -> str:
    """The VCALENDAR of ``shifts`` (pairs of schedule name and shift; shifts with nobody are left out)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_escape(name)}", "X-PUBLISHED-TTL:PT1H", "REFRESH-INTERVAL;VALUE=DURATION:PT1H"]
    for schedule, shift in sorted(shifts, key=lambda p: (p[1].start, p[0])):
        if shift.who is None:
            continue
        summary = f"On call: {schedule}" if person_feed else f"On call: {schedule}: {shift.who}"
        about = f"{shift.who} is on call for {schedule} (layer {shift.layer or '-'})"
        lines += ["BEGIN:VEVENT", f"UID:{uid(schedule, shift)}", f"DTSTAMP:{_stamp(now)}",
                  f"DTSTART:{_stamp(shift.start)}", f"DTEND:{_stamp(shift.end)}", f"SUMMARY:{_escape(summary)}",
                  f"DESCRIPTION:{_escape(about)}",
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


Covering = dict[str, list[oncall.Override]]  # the database's overrides per schedule name


def schedule_feed(schedule: oncall.Schedule, now: datetime, covering: Covering | None = None) -> str:
    start, end = window(now)
    shifts = oncall.timeline(schedule, start, end, (covering or {}).get(schedule.name, []))
    return render(f"On call: {schedule.name}", [(schedule.name, s) for s in shifts], now, person_feed=False)


def person_feed(email: str, schedules: list[oncall.Schedule], now: datetime, covering: Covering | None = None) -> str:
    start, end = window(now)
    mine = [(s.name, shift) for s in schedules
            for shift in oncall.timeline(s, start, end, (covering or {}).get(s.name, []))
            if shift.who and shift.who.lower() == email.lower()]
    return render(f"On call: {email}", mine, now, person_feed=True)


# -- the tokens ---------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


async def feed(session: AsyncSession, kind: str, subject: str, now: datetime, rotate: bool = False) -> Feed:
    """The feed of ``subject``, created on first use; ``rotate`` gives it a new token (the old URL stops working)."""
    row = await session.scalar(select(CalendarFeed).where(CalendarFeed.kind == kind, CalendarFeed.subject == subject))
    if row is None:
        row = CalendarFeed(kind=kind, subject=subject, token=new_token(), created_at=now)
        session.add(row)
    elif rotate:
        row.token, row.created_at = new_token(), now
    await session.flush()
    return Feed(row.kind, row.subject, row.token)


async def revoke(session: AsyncSession, kind: str, subject: str) -> bool:
    done = await session.execute(delete(CalendarFeed).where(CalendarFeed.kind == kind, CalendarFeed.subject == subject))
    return bool(done.rowcount)


async def by_token(session: AsyncSession, token: str) -> Feed | None:
    """The feed whose token is ``token``: every token is compared, in constant time, so that the answer's
    timing says nothing about how much of a guess was right."""
    found = None
    for kind, subject, known in (await session.execute(select(CalendarFeed.kind, CalendarFeed.subject,
                                                              CalendarFeed.token))).all():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = Feed(kind, subject, known)
    return found
