"""The outbound port for the shell: ``container.senders["shell"]`` in ``tocsin serve``.

A terminal cannot be reached from another process, so the notification row itself is the shell's inbox:
sending succeeds at once, and each signed-in shell prints the pages and notices sent to its person
(``bot.shell.inbox``). Escalation pages a person on "shell" only while they are signed in to one.
"""

from __future__ import annotations

from bot.shell.platform import NAME
from storage.ports import Delivery, Destination, Page

CHANNEL = NAME


class ShellSender:
    channel = CHANNEL
    timeout = 1.0  # nothing leaves the process

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Mark the page delivered: the shells of ``destination.address`` read it from the outbox."""
        return Delivery(f"inbox:{destination.address}", thread=destination.thread)
