"""The ``/incident`` grammar, shared by Slack, Telegram, ``tocsin shell`` and the web console.

``parse(text)`` turns the text after ``/incident`` into a ``Command`` or raises ``UsageError`` with a
message that says what was wrong and the usage of the subcommand.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import timedelta

from storage.states import Severity

SEVERITY_WORDS = {s.value: s for s in Severity} | {"sev1": Severity.CRITICAL, "sev2": Severity.HIGH,
                                                   "sev3": Severity.MEDIUM, "sev4": Severity.LOW,
                                                   "crit": Severity.CRITICAL, "med": Severity.MEDIUM}

USAGE: dict[str, str] = {
    "declare": "declare <title> [sev:<critical|high|medium|low>] [service:<name>] [team:<name>]",
    "list": "list [open|mine|all|team <name>]",
    "show": "show <number>",
    "ack": "ack <number>",
    "resolve": "resolve <number> [note]",
    "escalate": "escalate <number> | escalate preview <number>",
    "cancel": "cancel <number> [reason]",
    "assign": "assign <number> @user",
    "note": "note <number> <text>",
    "snooze": "snooze <number> <duration, e.g. 30m or 2h>",
    "severity": "severity <number> <critical|high|medium|low>",
    "silence": "silence <number> <duration, e.g. 1h, 4h or 24h> [comment] [confirm]",
    "unsilence": "unsilence <number>",
    "timeline": "timeline <number>",
    "stats": "stats [7d|30d] [team]",
    "policy": "policy [team]",
    "oncall": "oncall [team] | oncall override <schedule> @person <duration, e.g. 4h> | oncall override "
              "<schedule> @person <from> <to> (ISO times) [for @person] | oncall overrides [schedule] | "
              "oncall cancel <override id> | oncall offer <schedule> next|<from> <to> [for @person] | "
              "oncall offers [schedule] | oncall take <offer id> | oncall cancel offer <offer id>",
    "prefs": "prefs [slack|telegram|shell|email on|off]",
    "link": "link",
    "maintenance": "maintenance start <team|service=X|label=value|all> <duration, e.g. 2h | from to (ISO times, "
                   "UTC)> [reason] | maintenance list | maintenance end <window id>",
    "help": "help",
}
ALIASES = {"acknowledge": "ack", "new": "declare", "open": "declare", "ls": "list", "sev": "severity",
           "status": "show", "comment": "note", "log": "timeline", "metrics": "stats", "?": "help"}
_DURATION = re.compile(r"^(\d+)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)$", re.IGNORECASE)


class UsageError(ValueError):
    """Bad command text; ``str()`` says what was wrong, ``usage`` how to write it."""

    def __init__(self, message: str, subcommand: str | None = None) -> None:
        usage = f"/incident {USAGE[subcommand]}" if subcommand in USAGE else None
        super().__init__(message + (f"\nUsage: {usage}" if usage else ""))
        self.usage = usage


@dataclass(frozen=True)
class Command:
    name: str
    number: int | None = None
    text: str | None = None
    severity: Severity | None = None
    service: str | None = None
    team: str | None = None
    duration: timedelta | None = None
    scope: str | None = None
    target: str | None = None
    args: tuple[str, ...] = field(default_factory=tuple)
    labels: tuple[tuple[str, str], ...] = ()


def help_text() -> str:
    lines = ["Tocsin commands (/incident <subcommand>):"]
    lines += [f"  {usage}" for usage in USAGE.values()]
    return "\n".join(lines)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(text)
    amount, unit = int(match.group(1)), match.group(2)[0].lower()
    return timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


def parse_severity(text: str) -> Severity:
    try:
        return SEVERITY_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError(text) from None


def _number(words: list[str], name: str) -> int:
    if not words:
        raise UsageError(f"'{name}' needs an incident number.", name)
    raw = words.pop(0).lstrip("#")
    if not raw.isdigit() or int(raw) == 0:
        raise UsageError(f"{raw!r} is not an incident number; write it like 42 or #42.", name)
    return int(raw)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # unbalanced quotes: fall back to plain words rather than refuse
        return text.split()


def after_command(text: str) -> str:
    """What a line typed in a box of our own (the terminal, the console) says after ``/incident``: a leading
    "/" and "incident" are optional there."""
    first, _, rest = text.strip().removeprefix("/").partition(" ")
    return rest.strip() if first == "incident" else text.strip().removeprefix("/")


def parse(text: str) -> Command:
    """Parse the text after ``/incident``."""
    words = _split(text.strip())
    if not words:
        return Command("help")
    name = words.pop(0).lower()
    name = ALIASES.get(name, name)
    parser = _PARSERS.get(name)
    if parser is None:
        raise UsageError(f"Unknown subcommand {name!r}. Try '/incident help'.")
    return parser(name, words)


def _declare(name: str, words: list[str]) -> Command:
    title, fields = [], {}
    for word in words:
        key, sep, value = word.partition(":")
        if sep and key.lower() in ("sev", "severity", "service", "team") and value:
            fields[key.lower()] = value
        else:
            title.append(word)
    severity = None
    if "sev" in fields or "severity" in fields:
        raw = fields.get("sev") or fields["severity"]
        try:
            severity = parse_severity(raw)
        except ValueError:
            raise UsageError(f"Unknown severity {raw!r}; use critical, high, medium or low.", name) from None
    return Command(name, text=" ".join(title) or None, severity=severity, service=fields.get("service"),
                   team=fields.get("team"))


def _list(name: str, words: list[str]) -> Command:
    scope = words.pop(0).lower() if words else "open"
    if scope == "team":
        if not words:
            raise UsageError("'list team' needs a team name.", name)
        return Command(name, scope="team", team=words[0])
    if scope not in ("open", "mine", "all"):
        raise UsageError(f"Unknown list scope {scope!r}.", name)
    return Command(name, scope=scope)


def _numbered(name: str, words: list[str]) -> Command:
    number = _number(words, name)
    if words:
        raise UsageError(f"'{name}' takes only an incident number.", name)
    return Command(name, number=number)


def _numbered_text(name: str, words: list[str]) -> Command:
    number = _number(words, name)
    return Command(name, number=number, text=" ".join(words) or None)


def _note(name: str, words: list[str]) -> Command:
    command = _numbered_text(name, words)
    if not command.text:
        raise UsageError("'note' needs some text.", name)
    return command


def _escalate(name: str, words: list[str]) -> Command:
    if words and words[0].lower() == "preview":
        words.pop(0)
        return Command(name, number=_number(words, name), scope="preview")
    return _numbered(name, words)


def _assign(name: str, words: list[str]) -> Command:
    number = _number(words, name)
    if len(words) != 1:
        raise UsageError("'assign' needs exactly one person, like @alice.", name)
    return Command(name, number=number, target=words[0])


def _snooze(name: str, words: list[str]) -> Command:
    number = _number(words, name)
    if len(words) != 1:
        raise UsageError("'snooze' needs one duration, like 30m or 2h.", name)
    try:
        return Command(name, number=number, duration=parse_duration(words[0]))
    except ValueError:
        raise UsageError(f"{words[0]!r} is not a duration; write it like 30m or 2h.", name) from None


def _severity(name: str, words: list[str]) -> Command:
    number = _number(words, name)
    if len(words) != 1:
        raise UsageError("'severity' needs one level.", name)
    try:
        return Command(name, number=number, severity=parse_severity(words[0]))
    except ValueError:
        raise UsageError(f"Unknown severity {words[0]!r}; use critical, high, medium or low.", name) from None


def _silence(name: str, words: list[str]) -> Command:
    """``silence N 4h [comment] [confirm]``: without ``confirm`` it is a preview."""
    number = _number(words, name)
    if not words:
        raise UsageError("'silence' needs a duration, like 1h, 4h or 24h.", name)
    raw = words.pop(0)
    try:
        duration = parse_duration(raw)
    except ValueError:
        raise UsageError(f"{raw!r} is not a duration; write it like 1h, 4h or 24h.", name) from None
    confirm = bool(words) and words[-1].lower() == "confirm"
    if confirm:
        words.pop()
    return Command(name, number=number, duration=duration, text=" ".join(words) or None,
                   scope="confirm" if confirm else "preview")


def _stats(name: str, words: list[str]) -> Command:
    duration, team = timedelta(days=7), None
    for word in words:
        try:
            duration = parse_duration(word)
        except ValueError:
            team = word
    return Command(name, duration=duration, team=team)


def _override(name: str, words: list[str]) -> Command:
    """``args`` is (the person covered or "", then the start and end as written, if given as times)."""
    if len(words) < 3:
        raise UsageError("'oncall override' needs a schedule, a person and a duration (4h) or two times.", name)
    schedule, target, *rest = words
    for_whom = None
    if len(rest) >= 2 and rest[-2].lower() == "for":
        for_whom, rest = rest[-1], rest[:-2]
    if len(rest) == 1:
        try:
            duration = parse_duration(rest[0])
        except ValueError:
            raise UsageError(f"{rest[0]!r} is not a duration; write it like 30m, 4h or 2d, or give two ISO times "
                             "(2026-12-04T09:00 2026-12-04T17:00).", name) from None
        if not duration:
            raise UsageError("An override needs a duration above zero, like 4h.", name)
        return Command(name, scope="override", text=schedule, target=target, duration=duration,
                       args=(for_whom or "",))
    if len(rest) != 2:
        raise UsageError("'oncall override' takes one duration (4h) or a start and an end time.", name)
    return Command(name, scope="override", text=schedule, target=target, args=(for_whom or "", *rest))


def _offer(name: str, words: list[str]) -> Command:
    """``args`` is (whose shift or "", then "next" or the start and end as written)."""
    whose = ""
    if len(words) >= 2 and words[-2].lower() == "for":
        whose, words = words[-1], words[:-2]
    if len(words) == 2 and words[1].lower() == "next" or len(words) == 3:
        return Command(name, scope="offer", text=words[0], args=(whose, *words[1:]))
    raise UsageError("'oncall offer' needs a schedule and next (your next shift) or two times "
                     "(2026-12-04T09:00 2026-12-04T17:00).", name)


def _offer_number(name: str, verb: str, words: list[str]) -> int:
    raw = words[0].lstrip("#") if len(words) == 1 else ""
    if not raw.isdigit():
        raise UsageError(f"'oncall {verb}' needs the offer's number, as '/incident oncall offers' lists it.", name)
    return int(raw)


def _oncall(name: str, words: list[str]) -> Command:
    first = words[0].lower() if words else ""
    if first == "override":
        return _override(name, words[1:])
    if first == "overrides":
        return Command(name, scope="overrides", text=words[1] if len(words) > 1 else None)
    if first == "offer":
        return _offer(name, words[1:])
    if first == "offers":
        return Command(name, scope="offers", text=words[1] if len(words) > 1 else None)
    if first == "take":
        return Command(name, scope="take", number=_offer_number(name, "take", words[1:]))
    if first == "cancel" and len(words) > 1 and words[1].lower() == "offer":
        return Command(name, scope="cancel-offer", number=_offer_number(name, "cancel offer", words[2:]))
    if first == "cancel":
        raw = words[1].lstrip("#") if len(words) == 2 else ""
        if not raw.isdigit():
            raise UsageError("'oncall cancel' needs the override's number, as '/incident oncall overrides' lists it.",
                             name)
        return Command(name, scope="cancel", number=int(raw))
    return _optional_words(name, words)


def _is_time(word: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", word))


def _maintenance_start(name: str, words: list[str]) -> Command:
    """``args``: the start and end as written, when given as times (else ``duration``)."""
    team, service, labels, everything = None, None, [], False
    while words and not _is_time(words[0]) and not _DURATION.match(words[0]):
        word = words.pop(0)
        key, sep, value = word.partition("=")
        if word.lower() == "all":
            everything = True
        elif sep and key and value:
            if key.lower() == "service":
                service = value
            else:
                labels.append((key, value))
        elif sep:
            raise UsageError(f"{word!r} is not a matcher; write service=checkout or a label as env=staging.", name)
        elif team is None:
            team = word
        else:
            raise UsageError(f"A window is for one team ({team!r} or {word!r}?); give a duration like 2h next.", name)
    if not (team or service or labels or everything):
        raise UsageError("'maintenance start' needs what it covers: a team, service=X, a label=value, or all.", name)
    if everything and (team or service or labels):
        raise UsageError("'all' covers every alert; give it alone, or give the team, service or labels instead.",
                         name)
    if words and _DURATION.match(words[0]):
        duration = parse_duration(words.pop(0))
        if not duration:
            raise UsageError("A window needs a duration above zero, like 2h.", name)
        return Command(name, scope="start", team=team, service=service, labels=tuple(labels), duration=duration,
                       text=" ".join(words) or None)
    if len(words) >= 2 and _is_time(words[0]) and _is_time(words[1]):
        start, end = words.pop(0), words.pop(0)
        return Command(name, scope="start", team=team, service=service, labels=tuple(labels), args=(start, end),
                       text=" ".join(words) or None)
    raise UsageError("'maintenance start' needs how long (2h) or a start and an end time "
                     "(2026-12-04T09:00 2026-12-04T11:00, UTC unless an offset is given).", name)


def _maintenance(name: str, words: list[str]) -> Command:
    first = words.pop(0).lower() if words else "list"
    if first == "start":
        return _maintenance_start(name, words)
    if first == "list" and not words:
        return Command(name, scope="list")
    if first == "end":
        raw = words[0].lstrip("#") if len(words) == 1 else ""
        if not raw.isdigit() or int(raw) == 0:
            raise UsageError("'maintenance end' needs the window's number, as '/incident maintenance list' shows it.",
                             name)
        return Command(name, scope="end", number=int(raw))
    raise UsageError(f"Unknown maintenance action {first!r}; use start, list or end.", name)


def _optional_words(name: str, words: list[str]) -> Command:
    return Command(name, team=words[0] if words and name in ("policy", "oncall") else None, args=tuple(words))


_PARSERS = {
    "declare": _declare,
    "list": _list,
    "show": _numbered,
    "ack": _numbered,
    "timeline": _numbered,
    "resolve": _numbered_text,
    "cancel": _numbered_text,
    "note": _note,
    "escalate": _escalate,
    "assign": _assign,
    "snooze": _snooze,
    "severity": _severity,
    "silence": _silence,
    "unsilence": _numbered,
    "stats": _stats,
    "policy": _optional_words,
    "oncall": _oncall,
    "maintenance": _maintenance,
    "prefs": _optional_words,
    "link": _optional_words,
    "help": _optional_words,
}
