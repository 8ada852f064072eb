"""Logging set-up that never prints a secret."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Paths whose last part is a credential: a calendar feed's token, a console sign-in link's one-time token.
SECRET_PATHS = ((re.compile(r"/calendar/[^/\s\"]+\.ics"), "/calendar/[token].ics"),
                (re.compile(r"/login/[^/\s\"?]+"), "/login/[token]"))


class RedactingFilter(logging.Filter):
    """Replaces every known secret in a log line with ``[redacted]`` (defence in depth)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s and len(s) >= 6)}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class SecretPathFilter(logging.Filter):
    """The access log writes ``/calendar/[token].ics`` and ``/login/[token]``: the token is the credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for path, written in SECRET_PATHS:
            redacted = path.sub(written, redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def add_secrets(secrets: Iterable[str | None]) -> None:
    """Redact these too from now on (the secrets of a reloaded config)."""
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                f.add(secrets)


def configure(level: str, secrets: Iterable[str | None]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").addFilter(SecretPathFilter())
    # httpx logs request URLs at INFO, and Telegram's URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
