"""The outbound port of the surfaces whose inbox is the notification row itself: the shell and the web
console (``container.senders["shell"]`` and ``["console"]`` in ``tocsin serve``).

A terminal or a browser cannot be reached from another process, so sending succeeds at once and the
surface reads what was sent to its person (``bot.shell.inbox``, ``bot.console.notifications``).
"""

from __future__ import annotations

from bot.console.platform import NAME as CONSOLE
from bot.shell.platform import NAME as SHELL
from storage.ports import Delivery, Destination, Page

#: The channels whose pages stay in the database until their surface reads them.
INBOXES = (SHELL, CONSOLE)


class InboxSender:
    timeout = 1.0  # nothing leaves the process

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Mark the page delivered: the surface of ``destination.address`` reads it from the outbox."""
        return Delivery(f"inbox:{destination.address}", thread=destination.thread)


def inbox_senders() -> dict[str, InboxSender]:
    return {channel: InboxSender(channel) for channel in INBOXES}
