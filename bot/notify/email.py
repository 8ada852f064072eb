"""Email pages over SMTP (STARTTLS and login optional), sent from a worker thread.

The Message-ID is derived from the notification's key, so a retry after a crash carries the same id
and mail clients show one message; a closing notice replies to its page (In-Reply-To).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from bot.settings import Settings
from storage.ports import Delivery, DeliveryError, Destination, Page


class EmailSender:
    channel = "email"

    def __init__(self, host: str, port: int = 587, *, username: str | None = None, password: str | None = None,
                 starttls: bool = True, sender: str = "tocsin@localhost", timeout: float = 15.0,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.starttls, self.sender, self.timeout = starttls, sender, timeout
        self.tls_context = tls_context

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailSender:
        return cls(settings.smtp_host or "localhost", settings.smtp_port, username=settings.smtp_username,
                   password=settings.smtp_password, starttls=settings.smtp_starttls, sender=settings.smtp_from)

    def message(self, destination: Destination, page: Page) -> EmailMessage:
        view = page.incident
        msg = EmailMessage()
        subject = f"[Tocsin] #{view.number} {view.title} ({view.severity.value})" if view else f"[Tocsin] {page.text}"
        msg["Subject"] = f"Re: {subject}" if destination.thread else subject
        msg["From"], msg["To"] = self.sender, destination.address
        msg["Message-ID"] = f"<{page.key}@tocsin>" if page.key else make_msgid(domain="tocsin")
        if destination.thread:
            msg["In-Reply-To"] = msg["References"] = destination.thread
        msg.set_content(page.text + "\n")
        return msg

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Send one email; 4xx answers are retried, 5xx answers and refused recipients are not."""
        msg = self.message(destination, page)
        try:
            await asyncio.to_thread(self._send, msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            raise DeliveryError(text, permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP failed: {type(exc).__name__}: {exc}") from exc
        return Delivery(msg["Message-ID"], destination.thread or msg["Message-ID"])

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)
