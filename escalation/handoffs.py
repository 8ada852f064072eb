"""Handoff notices: at each handoff a direct message to the incoming person ("You are on call for payments-primary
until Mon 30 Nov 09:00 Europe/Lisbon"), optionally a line in the team's chats, and a reminder ``remind_before``
a shift starts (per schedule: docs/oncall.md).

They are notification rows of kind ``oncall`` (no incident), so the dispatcher sends them like pages: kept when
a channel fails, retried, counted on /metrics. Each notice is claimed first in ``inbound_receipt`` (source
``oncall``, key schedule:kind:instant) in the transaction that writes its rows, so however many processes run
this, one of them writes it, and a crash leaves either both or neither.

A run looks back ``LOOKBACK``: a handoff or reminder missed for longer (every process down) is not sent late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from escalation import outbox, prefs, wakeup
from escalation.plan import Planned, first_reachable, team_channel_address
from storage import oncall, overrides, schedules
from storage.background import Background
from storage.clock import Clock
from storage.db import Database
from storage.models import InboundReceipt, Person, Team

log = logging.getLogger(__name__)

SOURCE = "oncall"  # the claims' source in inbound_receipt
LOOKBACK = timedelta(minutes=15)  # shorter than the receipts' retention (TOCSIN_RECEIPT_RETENTION_HOURS)
HORIZON = timedelta(days=35)  # how far a run looks for the end of the incoming person's shift
IDLE = 60.0  # seconds between runs at most


@dataclass(frozen=True)
class Notice:
    schedule: oncall.Schedule
    kind: str  # "handoff" or "reminder"
    who: str  # the incoming person's email
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"{self.schedule.name}:{self.kind}:{self.start.isoformat()}"

    def _at(self, t: datetime) -> str:
        return f"{t.astimezone(self.schedule.zone):%a %d %b %H:%M} {self.schedule.timezone}"

    def direct(self) -> str:
        if self.kind == "reminder":
            return (f"Reminder: you are on call for {self.schedule.name} from {self._at(self.start)} until "
                    f"{self._at(self.end)}")
        return f"You are on call for {self.schedule.name} until {self._at(self.end)}"

    def channel_line(self) -> str:
        return f"{self.schedule.name}: {self.who} is on call now, until {self._at(self.end)}"


def shifts_starting(schedule: oncall.Schedule, start: datetime, end: datetime,
                    covering: Sequence[oncall.Override] = ()) -> list[tuple[str, datetime, datetime]]:
    """(who, from, until) of each person's stretch on call that begins in (start, end]; a change of layer
    with the same person is no handoff."""
    found = []
    shifts = oncall.timeline(schedule, start - timedelta(minutes=1), end + timedelta(minutes=1), covering)
    for before, shift in zip(shifts, shifts[1:], strict=False):  # the short window first: handoffs are rare
        if shift.who is not None and shift.who != before.who and start < shift.start <= end:
            found.append((shift.who, shift.start, _until(schedule, shift.who, shift.start, covering)))
    return found


def _until(schedule: oncall.Schedule, who: str, start: datetime, covering: Sequence[oncall.Override]) -> datetime:
    """When ``who``'s stretch on call from ``start`` ends (within ``HORIZON``)."""
    shifts = oncall.timeline(schedule, start, start + HORIZON, covering)
    end = start
    for shift in shifts:
        if shift.who != who:
            break
        end = shift.end
    return end


def due(schedule: oncall.Schedule, now: datetime, covering: Sequence[oncall.Override] = ()) -> list[Notice]:
    """The notices of ``schedule`` due at ``now``: handoffs in the last ``LOOKBACK``, reminders whose time came
    in it for shifts still to start."""
    found = []
    if schedule.notify_dm or schedule.notify_channel:
        found += [Notice(schedule, "handoff", who, a, b) for who, a, b in shifts_starting(schedule, now - LOOKBACK, now,
                                                                                        covering)]
    before = schedule.remind_before
    if before:
        found += [Notice(schedule, "reminder", who, a, b)
                  for who, a, b in shifts_starting(schedule, now, now + before, covering) if a - before > now - LOOKBACK]
    return found


class HandoffNotices(Background):
    """A process component (with the scheduler): writes the due notices, wakes the dispatcher."""

    def __init__(self, db: Database, clock: Clock, senders: Collection[str], known: Sequence[str], *,
                 skip: Collection[str] = (), kick: Callable[[], None] = lambda: None, idle: float = IDLE) -> None:
        """``senders``: the channels there is a sender for (read at each run); ``skip``: channels whose surface
        shows incidents' pages only (the inbox channels)."""
        self.db, self.clock, self.senders, self.known, self.skip = db, clock, senders, known, skip
        self.kick, self.idle = kick, idle
        self._wake = asyncio.Event()

    @property
    def _channels(self) -> list[str]:
        return [c for c in self.senders if c not in self.skip]

    async def run_once(self) -> int:
        """Write every notice due now that no process wrote yet; how many this process wrote."""
        now = self.clock.now()
        async with self.db.sessions() as session:
            found = await schedules.applied(session)
            covering = await overrides.active(session, now - LOOKBACK - timedelta(minutes=1), [s.name for s in found])
        written = 0
        for schedule in found:
            for notice in due(schedule, now, covering.get(schedule.name, [])):
                written += await self._write(notice, now)
            await asyncio.sleep(0)  # about 0.3 ms a quiet 10-layer schedule: let the loop breathe between them
        if written:
            self.kick()
        return written

    async def _write(self, notice: Notice, now: datetime) -> int:
        try:
            async with self.db.transaction() as session:
                session.add(InboundReceipt(source=SOURCE, key=notice.key[:200], received_at=now))
                await session.flush()  # the claim: a second process stops here
                planned: list[tuple[Planned, str]] = []  # (to whom, what)
                schedule = notice.schedule
                if schedule.notify_dm or notice.kind == "reminder":
                    person = await session.scalar(select(Person).where(func.lower(Person.email) == notice.who))
                    if person is not None and person.active:
                        accepted = await prefs.accepted(session, person.id, self.known)
                        channel = first_reachable(person, accepted, self._channels)
                        if channel is not None:
                            planned.append((channel, notice.direct()))
                        else:
                            log.warning("%s notice of %s: %s is reachable on no channel here", notice.kind,
                                        schedule.name, notice.who)
                if schedule.notify_channel and notice.kind == "handoff" and schedule.team:
                    team = await session.scalar(select(Team).where(func.lower(Team.name) == schedule.team.lower()))
                    for channel in self._channels:
                        address, topic = team_channel_address(team, channel)
                        if address:
                            planned.append((Planned("team_channel", channel, address, None, topic),
                                            notice.channel_line()))
                for p, text in planned:
                    await outbox.write_oncall(session, f"oncall:{notice.kind}", p, text, now)
                if planned:
                    await wakeup.notify(session)
        except IntegrityError:
            return 0  # another process claimed it
        return len(planned)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("writing on-call handoff notices failed; retrying in %ss", self.idle)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle)
