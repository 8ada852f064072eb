"""On-call schedules: the pure timeline engine (no I/O, no clock of its own).

A schedule has layers (rotations). Each layer hands over from one member to the next by a rule in the
schedule's IANA time zone: every N elapsed hours, daily at a local time, or weekly on a weekday at a local
time (a 09:00 handoff stays at 09:00 local across daylight-saving changes, so that shift is 23 or 25 hours
long). A layer may be restricted to weekdays and a local time-of-day window; outside it the layer has
nobody. A later layer wins where it has someone; an override wins over every layer, and a later-created
override wins over an earlier one (an override of an override).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A schedule is wrong; the message names the key."""


@dataclass(frozen=True)
class Rule:
    """How a layer hands over: ``kind`` is "hours", "daily" or "weekly"."""

    kind: str
    hours: int = 0  # for "hours": elapsed hours, not wall-clock hours, from the start date at ``at``
    at: time = time(9, 0)  # the local time of the handoff (for "hours": of the first one)
    weekday: int = 0  # for "weekly": 0 = Monday


@dataclass(frozen=True)
class Restriction:
    weekdays: frozenset[int] = frozenset(range(7))
    start: time | None = None  # a local window [start, end); end <= start crosses midnight
    end: time | None = None

    def allows(self, local: datetime) -> bool:
        wall = local.time().replace(tzinfo=None)
        day = local.weekday()
        if self.start is None or self.end is None:
            return day in self.weekdays
        if self.start < self.end:
            return day in self.weekdays and self.start <= wall < self.end
        if wall >= self.start:  # a window across midnight belongs to the day it starts on
            return day in self.weekdays
        return wall < self.end and (day - 1) % 7 in self.weekdays


@dataclass(frozen=True)
class Layer:
    name: str
    members: tuple[str, ...]
    rule: Rule
    start: date  # the rotation's first day (local); nobody before its first handoff
    restriction: Restriction | None = None


@dataclass(frozen=True)
class Schedule:
    name: str
    team: str | None
    timezone: str
    layers: tuple[Layer, ...]
    notify_dm: bool = True  # a direct message to the incoming person at each handoff
    notify_channel: bool = False  # and a line in the team's chats
    remind_before: timedelta | None = None  # a reminder this long before each shift starts

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Override:
    who: str
    start: datetime
    end: datetime
    created_at: datetime = field(default=datetime.min.replace(tzinfo=UTC))
    id: int | None = None


@dataclass(frozen=True)
class Shift:
    who: str | None
    start: datetime
    end: datetime
    layer: str | None  # the layer's name, "override", or None when nobody is on call


# -- the rules ----------------------------------------------------------------------------------


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time (a time skipped by a DST change maps to just after it)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _first_handoff(layer: Layer, zone: ZoneInfo) -> datetime:
    rule = layer.rule
    first = layer.start
    if rule.kind == "weekly":
        first += timedelta(days=(rule.weekday - first.weekday()) % 7)
    return _local_instant(first, rule.at, zone)


def _handoff_index(layer: Layer, zone: ZoneInfo, t: datetime, local: datetime) -> int:
    """How many handoffs have happened at ``t`` (0: before the first); ``local`` is ``t`` in ``zone``."""
    rule = layer.rule
    first = _first_handoff(layer, zone)
    if t < first:
        return 0
    if rule.kind == "hours":
        return int((t - first) // timedelta(hours=rule.hours)) + 1
    day = local.date()
    if t < _local_instant(day, rule.at, zone):
        day -= timedelta(days=1)
    first_day = first.astimezone(zone).date()
    if rule.kind == "daily":
        return (day - first_day).days + 1
    return (day - first_day).days // 7 + 1


def _handoffs(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The layer's handoff instants in [start, end)."""
    rule, first = layer.rule, _first_handoff(layer, zone)
    found: list[datetime] = []
    if rule.kind == "hours":
        step = timedelta(hours=rule.hours)
        k = max(0, -(-(start - first) // step))
        while (at := first + k * step) < end:
            found.append(at)
            k += 1
        return found
    period = 1 if rule.kind == "daily" else 7
    first_day = first.astimezone(zone).date()
    day = max(first_day, start.astimezone(zone).date() - timedelta(days=period))
    day = first_day + timedelta(days=-(-(day - first_day).days // period) * period)
    while (at := _local_instant(day, rule.at, zone)) < end:
        if at >= start:
            found.append(at)
        day += timedelta(days=period)
    return found


def layer_member(layer: Layer, zone: ZoneInfo, t: datetime, local: datetime | None = None) -> str | None:
    """Who the layer has at ``t``, before overrides (None: nobody)."""
    local = local or t.astimezone(zone)
    if layer.restriction is not None and not layer.restriction.allows(local):
        return None
    k = _handoff_index(layer, zone, t, local)
    return layer.members[(k - 1) % len(layer.members)] if k and layer.members else None


def on_call(schedule: Schedule, t: datetime, overrides: tuple[Override, ...] | list[Override] = (),
            zone: ZoneInfo | None = None) -> tuple[str | None, str | None]:
    """(who, layer name) on call at ``t``: the newest covering override, else the last layer with someone."""
    best: Override | None = None
    for o in overrides:
        if o.start <= t < o.end and (best is None or o.created_at >= best.created_at):
            best = o
    if best is not None:
        return best.who, "override"
    zone = zone or schedule.zone
    local = t.astimezone(zone)
    for layer in reversed(schedule.layers):
        who = layer_member(layer, zone, t, local)
        if who is not None:
            return who, layer.name
    return None, None


def _restriction_edges(r: Restriction, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    edges: list[datetime] = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for at in (time(0, 0), r.start, r.end):
            if at is not None:
                edges.append(_local_instant(day, at, zone))
        day += timedelta(days=1)
    return edges


def timeline(schedule: Schedule, start: datetime, end: datetime,
             overrides: tuple[Override, ...] | list[Override] = ()) -> list[Shift]:
    """The final shifts in [start, end): layers, restrictions and overrides applied, adjacent equal shifts merged."""
    if end <= start:
        return []
    zone = schedule.zone
    edges = {start, end}
    for layer in schedule.layers:
        edges.update(_handoffs(layer, zone, start, end))
        if layer.restriction is not None:
            edges.update(_restriction_edges(layer.restriction, zone, start, end))
    for o in overrides:
        edges.update((o.start, o.end))
    points = sorted(e for e in edges if start <= e <= end)
    shifts: list[Shift] = []
    for a, b in zip(points, points[1:], strict=False):
        who, layer = on_call(schedule, a, overrides, zone)
        if shifts and shifts[-1].who == who and shifts[-1].layer == layer and shifts[-1].end == a:
            shifts[-1] = Shift(who, shifts[-1].start, b, layer)
        else:
            shifts.append(Shift(who, a, b, layer))
    return shifts


def next_handoff(schedule: Schedule, t: datetime, overrides: tuple[Override, ...] | list[Override] = (),
                 horizon: timedelta = timedelta(days=35)) -> Shift | None:
    """The next shift with a different person after the one at ``t`` (None within ``horizon``)."""
    shifts = timeline(schedule, t, t + horizon, overrides)
    for shift in shifts[1:]:
        if shift.who != shifts[0].who:
            return shift
    return None


# -- parsing (from the config file's mapping) ---------------------------------------------------


def _time(value: object, path: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 09:00 as 540 (sexagesimal)
        value = f"{value // 60:02d}:{value % 60:02d}"
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ScheduleError(f"{path}: {value!r} is not a time of day (HH:MM)") from None


def _weekday(value: object, path: str) -> int:
    key = str(value).strip().lower()[:3]
    if key not in WEEKDAYS:
        raise ScheduleError(f"{path}: {value!r} is not a weekday (one of {', '.join(WEEKDAYS)})")
    return WEEKDAYS.index(key)


def _keys(raw: object, path: str, allowed: set[str]) -> dict:
    if not isinstance(raw, dict):
        raise ScheduleError(f"{path}: expected a mapping")
    unknown = set(raw) - allowed
    if unknown:
        raise ScheduleError(f"{path}.{sorted(unknown)[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
    return raw


def parse_rule(raw: object, path: str) -> Rule:
    raw = _keys(raw, path, {"every", "at", "day"})
    every = str(raw.get("every", "")).strip().lower()
    if every in ("day", "daily"):
        return Rule("daily", at=_time(raw.get("at", "09:00"), f"{path}.at"))
    if every in ("week", "weekly"):
        return Rule("weekly", at=_time(raw.get("at", "09:00"), f"{path}.at"),
                    weekday=_weekday(raw.get("day", "mon"), f"{path}.day"))
    if every.endswith("h") and every[:-1].isdigit() and int(every[:-1]) > 0:
        if "day" in raw:
            raise ScheduleError(f"{path}.day: an every-N-hours handoff counts elapsed hours from the layer's start "
                                "(its start date at `at`); drop day")
        return Rule("hours", hours=int(every[:-1]), at=_time(raw.get("at", "00:00"), f"{path}.at"))
    raise ScheduleError(f"{path}.every: {raw.get('every')!r} is not a handoff rule (day, week, or Nh such as 12h)")


def parse_restriction(raw: object, path: str) -> Restriction:
    raw = _keys(raw, path, {"weekdays", "between"})
    days = raw.get("weekdays", list(WEEKDAYS))
    if not isinstance(days, list) or not days:
        raise ScheduleError(f"{path}.weekdays: expected a list such as [mon, tue, wed, thu, fri]")
    weekdays = frozenset(_weekday(d, f"{path}.weekdays[{i}]") for i, d in enumerate(days))
    between = raw.get("between")
    if between is None:
        return Restriction(weekdays)
    parts = str(between).split("-")
    if len(parts) != 2:
        raise ScheduleError(f"{path}.between: {between!r} is not a window such as \"09:00-17:00\"")
    start, end = (_time(p.strip(), f"{path}.between") for p in parts)
    if start == end:
        raise ScheduleError(f"{path}.between: the window {between!r} is empty")
    return Restriction(weekdays, start, end)


def _notices(raw: dict, path: str) -> tuple[bool, bool, timedelta | None]:
    """``handoff_notice: {dm, channel}`` and ``remind_before: 1h``."""
    notice = _keys(raw.get("handoff_notice") or {}, f"{path}.handoff_notice", {"dm", "channel"})
    flags = []
    for key, default in (("dm", True), ("channel", False)):
        value = notice.get(key, default)
        if not isinstance(value, bool):
            raise ScheduleError(f"{path}.handoff_notice.{key}: {value!r} is not true or false")
        flags.append(value)
    before = raw.get("remind_before")
    if before is None:
        return flags[0], flags[1], None
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", str(before))
    if not match or not int(match.group(1)):
        raise ScheduleError(f"{path}.remind_before: {before!r} is not a time before the shift such as 30m, 1h or 1d")
    amount = int(match.group(1))
    unit = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}[match.group(2)]
    return flags[0], flags[1], amount * unit


def parse_schedule(raw: object, path: str, members: set[str] | None = None) -> Schedule:
    """One schedule from the config file; ``members`` are the emails allowed in its layers."""
    raw = _keys(raw, path, {"name", "team", "timezone", "layers", "handoff_notice", "remind_before"})
    name = str(raw.get("name") or "").strip()
    if not name or ":" in name:
        raise ScheduleError(f"{path}.name: required, without ':'")
    zone = str(raw.get("timezone") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{path}.timezone: {zone!r} is not an IANA time zone (such as Europe/Lisbon)") from None
    layers_raw = raw.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise ScheduleError(f"{path}.layers: expected a list of at least one layer")
    layers = []
    for i, lr in enumerate(layers_raw):
        lp = f"{path}.layers[{i}]"
        lr = _keys(lr, lp, {"name", "members", "start", "handoff", "restrict"})
        who = lr.get("members")
        if not isinstance(who, list) or not who:
            raise ScheduleError(f"{lp}.members: expected a list of people's emails")
        emails = tuple(str(m).strip().lower() for m in who)
        for j, email in enumerate(emails):
            if members is not None and email not in members:
                raise ScheduleError(f"{lp}.members[{j}]: {email!r} is not a person of this schedule's team")
        start = lr.get("start", "2026-01-05")
        try:
            start = start if isinstance(start, date) else date.fromisoformat(str(start))
        except ValueError:
            raise ScheduleError(f"{lp}.start: {start!r} is not a date (YYYY-MM-DD)") from None
        if "handoff" not in lr:
            raise ScheduleError(f"{lp}.handoff: required, such as {{every: week, day: mon, at: \"09:00\"}}")
        rule = parse_rule(lr["handoff"], f"{lp}.handoff")
        restriction = parse_restriction(lr["restrict"], f"{lp}.restrict") if lr.get("restrict") else None
        layers.append(Layer(str(lr.get("name") or f"layer-{i + 1}"), emails, rule, start, restriction))
    team = raw.get("team")
    return Schedule(name, str(team) if team else None, zone, tuple(layers), *_notices(raw, path))


# -- the stored form (the applied config's JSON document) ---------------------------------------


def to_document(s: Schedule) -> dict:
    def layer(x: Layer) -> dict:
        r = x.restriction
        return {"name": x.name, "members": list(x.members), "start": x.start.isoformat(),
                "rule": {"kind": x.rule.kind, "hours": x.rule.hours, "at": x.rule.at.isoformat(),
                         "weekday": x.rule.weekday},
                "restriction": None if r is None else {
                    "weekdays": sorted(r.weekdays), "start": r.start.isoformat() if r.start else None,
                    "end": r.end.isoformat() if r.end else None}}
    return {"name": s.name, "team": s.team, "timezone": s.timezone, "layers": [layer(x) for x in s.layers],
            "handoff_notice": {"dm": s.notify_dm, "channel": s.notify_channel},
            "remind_before": s.remind_before.total_seconds() if s.remind_before else None}


def from_document(d: dict) -> Schedule:
    def layer(x: dict) -> Layer:
        r, rule = x["restriction"], x["rule"]
        return Layer(x["name"], tuple(x["members"]), Rule(rule["kind"], rule["hours"], time.fromisoformat(rule["at"]),
                                                          rule["weekday"]),
                     date.fromisoformat(x["start"]), None if r is None else Restriction(
                         frozenset(r["weekdays"]), time.fromisoformat(r["start"]) if r["start"] else None,
                         time.fromisoformat(r["end"]) if r["end"] else None))
    notice, before = d.get("handoff_notice") or {}, d.get("remind_before")
    return Schedule(d["name"], d["team"], d["timezone"], tuple(layer(x) for x in d["layers"]),
                    notice.get("dm", True), notice.get("channel", False),
                    timedelta(seconds=before) if before else None)
