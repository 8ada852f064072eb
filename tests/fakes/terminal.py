"""A fake terminal for ``tocsin shell``: the same ``Sink`` as ``bot.shell.terminal.Terminal``, keeping what
was printed. Faults are the terminal's own: a blocked write (``BlockingIOError``: try again later) and a
closed terminal (``BrokenPipeError``: refused)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field

CARD_HEADING = re.compile(r"^\u2500+ [a-z ]+ #(\d+):")


@dataclass
class FakeTerminal:
    printed: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) in the order printed
    attempts: Counter[str] = field(default_factory=Counter)  # every print tried, by kind, failed ones too
    blocked: bool = False
    closed_for: set[str] = field(default_factory=set)  # kinds whose next print finds the terminal closed
    delays: dict[str, float] = field(default_factory=dict)
    holds: dict[str, asyncio.Event] = field(default_factory=dict)  # kind -> prints of it wait until set

    async def show(self, text: str, *, kind: str = "reply") -> None:
        self.attempts[kind] += 1
        if self.delays.get(kind):
            await asyncio.sleep(self.delays[kind])
        if kind in self.holds:
            await self.holds[kind].wait()
        if self.blocked:
            raise BlockingIOError(11, "the terminal takes no output now")
        if kind in self.closed_for:
            self.closed_for.discard(kind)
            raise BrokenPipeError(32, "the terminal is closed")
        self.printed.append((kind, text))

    def texts(self, *kinds: str) -> list[str]:
        return [text for kind, text in self.printed if kind in kinds]

    def cards(self) -> list[str]:
        """Each card posted, as its incident's last reprint shows it (a terminal cannot edit in place)."""
        posted: list[list[str]] = []  # [incident number, text as now shown]
        for kind, text in self.printed:
            match = CARD_HEADING.match(text)
            if match and kind == "card":
                posted.append([match.group(1), text])
            elif match and kind == "edit":
                mine = [card for card in posted if card[0] == match.group(1)]
                if mine:
                    mine[-1][1] = text
        return [text for _, text in posted]
