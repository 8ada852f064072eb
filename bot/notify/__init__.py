"""Outbound senders that are not chat platforms: email over SMTP and an outgoing webhook."""

from __future__ import annotations

from bot.settings import Settings
from storage.ports import Sender


def senders(settings: Settings) -> dict[str, Sender]:
    """The email and webhook senders the settings configure, by channel."""
    found: dict[str, Sender] = {}
    if settings.smtp_host:
        from bot.notify.email import EmailSender

        found["email"] = EmailSender.from_settings(settings)
    url = settings.notify_webhook_url
    if url:
        from bot.notify.webhook import WebhookSender

        found["webhook"] = WebhookSender(url, secret=settings.notify_webhook_secret)
    return found
