"""The outbound port for the shell: ``container.senders["shell"]`` in ``tocsin serve``.

A terminal cannot be reached from another process, so the notification row itself is the shell's inbox:
sending succeeds at once, and each signed-in shell prints the pages and notices sent to its person
(``bot.shell.inbox``). Escalation pages a person on "shell" only while they are signed in to one.
"""

from __future__ import annotations

from bot.settings import Settings
from bot.shell.platform import NAME
from storage.ports import Delivery, DeliveryError, Destination, Page

CHANNEL = NAME


class ShellSender:
    channel = CHANNEL
    timeout = 1.0  # nothing leaves the process

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Mark the page delivered: the shells of ``destination.address`` read it from the outbox."""
        return Delivery(f"inbox:{destination.address}", thread=destination.thread)


class SentByServe:
    """A channel that ``tocsin serve`` sends on, named in the shell process so that a step run from here
    (``escalate 3`` runs the next step at once) plans its pages as serve would. The shell runs no
    dispatcher: serve sends what was planned, and nothing ever calls this."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, destination: Destination, page: Page) -> Delivery:
        raise DeliveryError(f"{self.channel} pages are sent by tocsin serve")


def senders_of_serve(settings: Settings) -> dict[str, ShellSender | SentByServe]:
    """The channels a ``tocsin serve`` with these settings sends on (the shell's own always)."""
    configured = {"slack": settings.slack_bot_token, "telegram": settings.telegram_bot_token,
                  "email": settings.smtp_host, "webhook": settings.notify_webhook_url}
    return {CHANNEL: ShellSender(), **{name: SentByServe(name) for name, on in configured.items() if on}}
