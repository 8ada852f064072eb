"""Escalation policies: which incidents they match and whom each step pages, when, and how. Pure.

The chat channels are the chat platforms the bot layer knows (``chats``, passed in); besides them a page
can go by email or to an outgoing webhook.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from storage.roles import Role

OTHER_CHANNELS = ("email", "webhook")


def channels(chats: Sequence[str]) -> tuple[str, ...]:
    """Every channel a page can go on: the chat platforms, then email and webhook."""
    return (*chats, *OTHER_CHANNELS)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class PolicyError(ValueError):
    """A policy in the config file is wrong; ``path`` names the key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def parse_duration(text: str | int, path: str = "duration") -> timedelta:
    """``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` (or a number of seconds)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return timedelta(seconds=text)
    match = _DURATION.match(str(text))
    if not match:
        raise PolicyError(path, f"{text!r} is not a duration; write e.g. 30s, 5m, 2h or 1d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class Target:
    """Who a step pages: the team channel, everyone with a role in the team, a person, the assignee."""

    kind: str  # team_channel | role | person | assignee | oncall (value: schedule or schedule:next)
    value: str | None = None

    @classmethod
    def parse(cls, text: str, path: str) -> Target:
        kind, _, value = str(text).partition(":")
        if kind in ("team_channel", "assignee") and not value:
            return cls(kind)
        if kind == "role" and value in {r.value for r in Role}:
            return cls(kind, value)
        if kind == "person" and value:
            return cls(kind, value)
        name, _, which = value.partition(":")
        if kind == "oncall" and name and which in ("", "next"):  # the schedule's person when the step runs
            return cls(kind, value)
        raise PolicyError(
            path, f"{text!r} is not a target; use team_channel, assignee, role:<role>, person:<email>, "
                  "oncall:<schedule> or oncall:<schedule>:next"
        )

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind


@dataclass(frozen=True)
class Step:
    after: timedelta  # since the incident opened (or since the repeat began)
    targets: tuple[Target, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    severity: frozenset[str] = frozenset()
    service: frozenset[str] = frozenset()
    team: frozenset[str] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)

    def matches(self, severity: str, service: str | None, team: str | None, labels: dict[str, Any]) -> bool:
        return (
            (not self.severity or severity in self.severity)
            and (not self.service or (service or "") in self.service)
            and (not self.team or (team or "") in self.team)
            and all(str(labels.get(k)) == v for k, v in self.labels.items())
        )


@dataclass(frozen=True)
class Policy:
    name: str
    steps: tuple[Step, ...]
    match: Match = Match()
    repeat: int = 0
    description: str | None = None
    #: Page only once an alert-born incident has fired this long and still fires (0: page as the steps say).
    page_after: timedelta = timedelta(0)
    #: Page an alert-born incident only once this many of its alerts arrived within ``page_when_within``
    #: (0: page as the steps say; escalation/gates.py).
    page_when_alerts: int = 0
    page_when_within: timedelta = timedelta(0)


def default_policy(chats: Sequence[str]) -> Policy:
    """The policy of incidents no configured policy matches, over the chat platforms ``chats``."""
    chats = tuple(chats)
    return Policy(
        name="default",
        description="Team channel at 5 minutes, team leads by DM at 15, managers by DM and email at 60.",
        steps=(
            Step(timedelta(minutes=5), (Target("team_channel"),), chats),
            Step(timedelta(minutes=15), (Target("role", "team_lead"),), chats),
            Step(timedelta(minutes=60), (Target("role", "manager"),), (*chats, "email")),
        ),
    )


def _strings(raw: Any, path: str) -> frozenset[str]:
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(i, str | int) for i in items):
        raise PolicyError(path, "expected a string or a list of strings")
    return frozenset(str(i) for i in items)


def parse_policy(raw: Any, path: str, chats: Sequence[str] | None) -> Policy:
    """Validate one policy from the config file, pointing at the offending key. A step without channels
    pages on every chat platform of ``chats``; None: a stored policy (checked when it was applied, every
    step naming its channels), whose channels are taken as written."""
    if not isinstance(raw, dict):
        raise PolicyError(path, "a policy is a mapping with name and steps")
    unknown = set(raw) - {"name", "description", "match", "steps", "repeat", "page_after", "page_when"}
    if unknown:
        raise PolicyError(f"{path}.{sorted(unknown)[0]}",
                          "unknown key (name, description, match, steps, repeat, page_after, page_when)")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{path}.name", "every policy needs a name")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise PolicyError(f"{path}.steps", "a policy needs at least one step")
    steps = tuple(_parse_step(s, f"{path}.steps[{i}]", chats) for i, s in enumerate(steps_raw))
    if [s.after for s in steps] != sorted(s.after for s in steps):
        raise PolicyError(f"{path}.steps", "steps must be in order of their 'after' times")
    match_raw = raw.get("match") or {}
    if not isinstance(match_raw, dict) or set(match_raw) - {"severity", "service", "team", "labels"}:
        raise PolicyError(f"{path}.match", "match takes severity, service, team and labels")
    labels = match_raw.get("labels") or {}
    if not isinstance(labels, dict):
        raise PolicyError(f"{path}.match.labels", "labels is a mapping of label to value")
    match = Match(
        severity=_strings(match_raw.get("severity", []), f"{path}.match.severity"),
        service=_strings(match_raw.get("service", []), f"{path}.match.service"),
        team=_strings(match_raw.get("team", []), f"{path}.match.team"),
        labels={str(k): str(v) for k, v in labels.items()},
    )
    repeat = raw.get("repeat", 0)
    if not isinstance(repeat, int) or not 0 <= repeat <= 10:
        raise PolicyError(f"{path}.repeat", "repeat is a whole number from 0 to 10")
    page_after = parse_duration(raw.get("page_after", 0), f"{path}.page_after")
    if page_after > timedelta(days=1):
        raise PolicyError(f"{path}.page_after", "page_after is at most 1d (e.g. 5m)")
    alerts, within = _page_when(raw.get("page_when"), f"{path}.page_when")
    return Policy(name.strip(), steps, match, repeat, raw.get("description"), page_after, alerts, within)


def _page_when(raw: Any, path: str) -> tuple[int, timedelta]:
    """``page_when: {alerts: N, within: W}`` as (N, W); (0, 0) when not set."""
    if raw is None:
        return 0, timedelta(0)
    if not isinstance(raw, dict) or set(raw) - {"alerts", "within"}:
        raise PolicyError(path, "page_when is a mapping {alerts: N, within: W}, e.g. {alerts: 3, within: 10m}")
    alerts = raw.get("alerts")
    if not isinstance(alerts, int) or isinstance(alerts, bool) or not 2 <= alerts <= 1000:
        raise PolicyError(f"{path}.alerts", "a whole number from 2 to 1000: how many alerts must arrive within "
                                            "'within' before anyone is paged, e.g. 3")
    if raw.get("within") is None:
        raise PolicyError(f"{path}.within", "required, a duration such as 10m")
    within = parse_duration(raw["within"], f"{path}.within")
    if not timedelta(0) < within <= timedelta(days=1):
        raise PolicyError(f"{path}.within", "a duration from 1s to 1d, e.g. 10m")
    return alerts, within


def _parse_step(raw: Any, path: str, chats: Sequence[str] | None) -> Step:
    if not isinstance(raw, dict):
        raise PolicyError(path, "a step is a mapping with after, notify and channels")
    unknown = set(raw) - {"after", "notify", "channels"}
    if unknown:
        raise PolicyError(f"{path}.{sorted(unknown)[0]}", "unknown key (after, notify, channels)")
    after = parse_duration(raw.get("after", "0s"), f"{path}.after")
    notify = raw.get("notify")
    if not isinstance(notify, list) or not notify:
        raise PolicyError(f"{path}.notify", "list whom to page, e.g. [team_channel] or [role:team_lead]")
    targets = tuple(Target.parse(t, f"{path}.notify[{i}]") for i, t in enumerate(notify))
    chosen = tuple(raw.get("channels") or chats or ())
    known = channels(chats) if chats is not None else None
    for i, channel in enumerate(chosen):
        if not isinstance(channel, str) or (known is not None and channel not in known):
            raise PolicyError(f"{path}.channels[{i}]",
                              f"unknown channel {channel!r} (one of {', '.join(known or OTHER_CHANNELS)})")
    if not chosen:
        raise PolicyError(f"{path}.channels", "a step pages on at least one channel")
    return Step(after, targets, chosen)


def to_document(policy: Policy) -> dict[str, Any]:
    """The policy as JSON for the escalation_policy table (``page_after``, ``page_when`` only when set, so that stored
    policies without it stay as they were)."""
    document: dict[str, Any] = {
        "steps": [
            {"after": int(s.after.total_seconds()), "notify": [str(t) for t in s.targets], "channels": list(s.channels)}
            for s in policy.steps
        ]
    }
    if policy.page_after:
        document["page_after"] = int(policy.page_after.total_seconds())
    if policy.page_when_alerts:
        document["page_when"] = {"alerts": policy.page_when_alerts,
                                 "within": int(policy.page_when_within.total_seconds())}
    return document


def select_policy(policies: list[Policy], severity: str, service: str | None, team: str | None,
                  labels: dict[str, Any], team_policy: str | None, default: Policy) -> Policy:
    """The team's named policy if set, else the first policy that matches, else the stored default policy,
    else ``default``."""
    by_name = {p.name: p for p in policies}
    if team_policy and team_policy in by_name:
        return by_name[team_policy]
    for policy in policies:
        if policy.match.matches(severity, service, team, labels):
            return policy
    return by_name.get("default", default)


def from_row(name: str, match: dict[str, Any], steps: dict[str, Any], repeat: int,
             description: str | None = None) -> Policy:
    """A policy back from the escalation_policy table (the shape ``to_document`` wrote)."""
    raw = {"name": name, "steps": steps.get("steps", []), "repeat": repeat,
           "match": {k: v for k, v in (match or {}).items() if v}}
    if description:
        raw["description"] = description
    if steps.get("page_after"):
        raw["page_after"] = steps["page_after"]
    if steps.get("page_when"):
        raw["page_when"] = steps["page_when"]
    return parse_policy(raw, f"escalation_policy[{name}]", None)


def cycle(policy: Policy) -> timedelta:
    """How long one pass through the steps lasts; a repeat starts this long after the previous pass."""
    return max(policy.steps[-1].after, timedelta(minutes=1))
