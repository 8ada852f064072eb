"""Outbound senders without an adapter of their own: email over SMTP, an outgoing webhook, the shell."""

from __future__ import annotations

from bot.container import Container


def register(container: Container) -> None:
    """Add the email and webhook senders the settings configure, and the shell's, to ``container.senders``."""
    from bot.shell.sender import ShellSender

    container.senders[ShellSender.channel] = ShellSender()  # needs no settings: shells read the outbox
    settings = container.settings
    if settings.smtp_host:
        from bot.notify.email import EmailSender

        container.senders["email"] = EmailSender.from_settings(settings)
    url = settings.notify_webhook_url
    if url:
        from bot.notify.webhook import WebhookSender

        container.senders["webhook"] = WebhookSender(url, secret=settings.notify_webhook_secret)
