"""Outbound senders that are not chat platforms: email over SMTP and an outgoing webhook."""

from __future__ import annotations

from bot.container import Container


def register(container: Container) -> None:
    """Add the email and webhook senders the settings configure to ``container.senders``."""
    settings = container.settings
    if settings.smtp_host:
        from bot.notify.email import EmailSender

        container.senders["email"] = EmailSender.from_settings(settings)
    url = settings.notify_webhook_url
    if url:
        from bot.notify.webhook import WebhookSender

        container.senders["webhook"] = WebhookSender(url, secret=settings.notify_webhook_secret)
