"""Outbound senders without an adapter of their own: email over SMTP, an outgoing webhook, the shell."""

from __future__ import annotations

from bot.settings import Settings
from storage.ports import Sender


def senders(settings: Settings) -> dict[str, Sender]:
    """The email and webhook senders the settings configure, and the shell's, by channel."""
    from bot.shell.sender import ShellSender

    found: dict[str, Sender] = {ShellSender.channel: ShellSender()}  # needs no settings: shells read the outbox
    if settings.smtp_host:
        from bot.notify.email import EmailSender

        found["email"] = EmailSender.from_settings(settings)
    url = settings.notify_webhook_url
    if url:
        from bot.notify.webhook import WebhookSender

        found["webhook"] = WebhookSender(url, secret=settings.notify_webhook_secret)
    return found
