"""A card's buttons, for every platform: one table from each platform's wire ids to the core verbs, and one
way from a press to the core (the shared executor, as the typed command would go).

The wire ids are what cards already posted carry: never change a key here (Slack action ids, Telegram
callback data actions); a new rendering gets a new id that maps to the same verb. A terminal platform maps
``ack 3`` to ``press(container, actor, ACK, 3)`` the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from bot.commands.execute import MentionResolver, execute
from bot.commands.grammar import Command
from bot.commands.reply import Reply
from bot.container import Container
from storage.actors import Actor

#: The core verbs a card's buttons run: the shared grammar's subcommands.
ACK, RESOLVE, ESCALATE, SNOOZE = "ack", "resolve", "escalate", "snooze"
VERBS = (ACK, RESOLVE, ESCALATE, SNOOZE)  # in the order a card shows them
LABELS: Mapping[str, str] = MappingProxyType({ACK: "Acknowledge", RESOLVE: "Resolve", ESCALATE: "Escalate",
                                              SNOOZE: "Snooze"})
#: Silence at the source (docs/silences.md): on alert-born cards only, outside ``VERBS``; a press confirms.
SILENCE, UNSILENCE = "silence", "unsilence"
#: A press that asks for the preview of a silence (``/incident silence N 4h`` without ``confirm``): where the
#: platform has no confirm dialog of its own (Telegram, the console), the confirmation is a second press.
SILENCE_PREVIEW = "silence-preview"
LABELS = MappingProxyType({**LABELS, SILENCE: "Silence", UNSILENCE: "Expire silence", SILENCE_PREVIEW: "Silence"})
#: The silence durations a card offers (Slack's menu, Telegram's buttons, the console's form).
SILENCE_CHOICES: Mapping[str, timedelta] = MappingProxyType(
    {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)})
#: A snooze button that carries no duration of its own (Telegram's "Snooze 1h").
SNOOZE_FOR = timedelta(hours=1)
#: Verbs whose repeat the core answers itself ("already acknowledged by ..."). A repeat of the others on the
#: same rendering of a card (a double tap, a redelivered press) must not escalate or snooze twice.
IDEMPOTENT = frozenset({ACK, RESOLVE})


def repeated(verb: str, number: int, when: datetime | None) -> Reply:
    """The answer to a repeat of a press that is not idempotent: nothing was done twice."""
    at = when.strftime("at %Y-%m-%d %H:%M UTC") if when else "a moment ago"
    return Reply(f"You already pressed {LABELS[verb]} on this card of #{number} {at}; nothing was done twice.")

#: Wire id -> verb, per platform.
SLACK: Mapping[str, str] = MappingProxyType({
    "incident.acknowledge.v1": ACK,
    "incident.resolve.v1": RESOLVE,
    "incident.escalate.v1": ESCALATE,
    "incident.snooze.v1": SNOOZE,  # a menu: the chosen duration comes with the press
    "incident.silence.v1": SILENCE,  # a menu with Slack's confirm dialog: "<number>:<duration>"
    "incident.unsilence.v1": UNSILENCE,
})
TELEGRAM: Mapping[str, str] = MappingProxyType({
    "ack": ACK, "res": RESOLVE, "esc": ESCALATE, "snz": SNOOZE,
    # silence: callback data has no room for a menu, so each duration is its own wire id (TELEGRAM_DURATIONS);
    # "sl" previews under the card, "sc" (on the preview's keyboard) confirms
    "sl1": SILENCE_PREVIEW, "sl4": SILENCE_PREVIEW, "sl24": SILENCE_PREVIEW,
    "sc1": SILENCE, "sc4": SILENCE, "sc24": SILENCE,
    "uns": UNSILENCE,
})
TELEGRAM_DURATIONS: Mapping[str, timedelta] = MappingProxyType(
    {f"{kind}{choice[:-1]}": duration for kind in ("sl", "sc") for choice, duration in SILENCE_CHOICES.items()})
CONSOLE: Mapping[str, str] = MappingProxyType({"ack": ACK, "resolve": RESOLVE, "escalate": ESCALATE,  # form paths
                                              "unsilence": UNSILENCE})


def wire_id(table: Mapping[str, str], verb: str) -> str:
    """The wire id ``table`` renders ``verb`` with (its first, the current one)."""
    return next(wire for wire, v in table.items() if v == verb)


def command(verb: str, number: int, duration: timedelta | None = None, text: str | None = None) -> Command:
    """The command a press of ``verb`` on incident ``number``'s card means (``text``: a silence's comment)."""
    if verb == SILENCE:  # the card's menu, or a preview's Confirm, asked before the press was sent
        return Command(verb, number=number, duration=duration, scope="confirm", text=text)
    if verb == SILENCE_PREVIEW:
        return Command(SILENCE, number=number, duration=duration, text=text)
    if verb not in (*VERBS, UNSILENCE):
        raise ValueError(f"not a button verb: {verb!r}")
    if verb == SNOOZE:
        duration = duration or SNOOZE_FOR
    return Command(verb, number=number, duration=duration)


async def press(container: Container, actor: Actor, verb: str, number: int, duration: timedelta | None = None,
                mentions: MentionResolver | None = None, text: str | None = None) -> Reply:
    """Run a press through the core, exactly as ``/incident <verb> <number>`` would; a refusal is a failed
    ``Reply`` (``unlinked`` when the presser is no Tocsin person), never raised."""
    return await execute(container, actor, command(verb, number, duration, text), mentions)
