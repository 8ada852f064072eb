"""Outbound senders without an adapter of their own: email over SMTP, an outgoing webhook, the shell's and
the console's inboxes (``bot.notify.inbox``)."""

from __future__ import annotations

from bot.settings import Settings
from storage.ports import Delivery, DeliveryError, Destination, Page, Sender


def senders(settings: Settings) -> dict[str, Sender]:
    """The email and webhook senders the settings configure, and the inboxes', by channel."""
    from bot.notify.inbox import inbox_senders

    found: dict[str, Sender] = {**inbox_senders()}  # need no settings: their surfaces read the outbox
    if settings.smtp_host:
        from bot.notify.email import EmailSender

        found["email"] = EmailSender.from_settings(settings)
    url = settings.notify_webhook_url
    if url:
        from bot.notify.webhook import WebhookSender

        found["webhook"] = WebhookSender(url, secret=settings.notify_webhook_secret)
    return found


class SentByServe:
    """A channel that ``tocsin serve`` sends on, named in a process that runs no dispatcher (the sidecar, the
    shell), so that a step run there (a hand escalation runs the next step at once) plans its pages as serve
    would; serve's dispatcher sends what the outbox holds, and nothing ever calls this."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, destination: Destination, page: Page) -> Delivery:
        raise DeliveryError(f"{self.channel} pages are sent by tocsin serve")


def sent_by_serve(settings: Settings) -> dict[str, Sender]:
    """The channels a ``tocsin serve`` with these settings sends on, as stand-ins (the shell's is real: its
    sender only marks the outbox row, which the shells read; the console's too)."""
    from bot.notify.inbox import inbox_senders

    configured = {"slack": settings.slack_bot_token, "telegram": settings.telegram_bot_token,
                  "email": settings.smtp_host, "webhook": settings.notify_webhook_url}
    return {**inbox_senders(), **{name: SentByServe(name) for name, on in configured.items() if on}}
