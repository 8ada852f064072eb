"""Settings from environment variables: secrets and endpoints. Teams and policies live in the YAML file.

Every variable read here is documented in docs/configuration.md (a test keeps the two in step).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from storage.db import DEFAULT_URL


class SettingsError(ValueError):
    """A setting cannot be used; the message names it and says what would do."""


def local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on ``host``:``port``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def parse_port(value: str | int, source: str) -> int:
    """A TCP port to listen on, from ``source`` (``--port`` or ``TOCSIN_PORT``)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not 1 <= number <= 65535:
        raise SettingsError(f"{source} {value}: not a port number; give one in 1-65535, e.g. 8080")
    return number


def parse_seconds(value: str | float, source: str) -> float:
    """A positive, finite number of seconds, from ``source`` (an environment variable)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise SettingsError(f"{source} {value}: not a number of seconds; give a positive number, e.g. 10")
    return seconds


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    database_timeout: float = 10.0  # seconds one transaction may take, waits included
    database_connect_timeout: float = 5.0
    config_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    public_url: str | None = None
    console_url: str = "http://127.0.0.1:8080"  # the web console's base URL, as browsers reach it
    max_body_bytes: int = 1024 * 1024
    scheduler: bool = True
    receipt_retention_hours: int = 24
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    slack_timeout: float = 30.0
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    smtp_from: str = "tocsin@localhost"
    notify_webhook_url: str | None = None
    notify_webhook_secret: str | None = field(default=None, repr=False)
    notify_retry_cap: float = 300.0  # seconds: the longest wait between two attempts at a notification
    notify_failover_after: float = 120.0  # seconds a page may fail on its channel before it fails over

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        get = lambda name: env.get(name) or None  # noqa: E731 - empty means unset
        config = get("TOCSIN_CONFIG")
        if config is None and Path("tocsin.yml").is_file():
            config = "tocsin.yml"
        return cls(
            database_url=get("TOCSIN_DATABASE_URL") or DEFAULT_URL,
            database_timeout=parse_seconds(get("TOCSIN_DATABASE_TIMEOUT") or 10, "TOCSIN_DATABASE_TIMEOUT"),
            database_connect_timeout=parse_seconds(get("TOCSIN_DATABASE_CONNECT_TIMEOUT") or 5,
                                                   "TOCSIN_DATABASE_CONNECT_TIMEOUT"),
            config_file=Path(config) if config else None,
            host=get("TOCSIN_HOST") or "127.0.0.1",
            port=parse_port(get("TOCSIN_PORT") or 8080, "TOCSIN_PORT"),
            log_level=(get("TOCSIN_LOG_LEVEL") or "INFO").upper(),
            public_url=get("TOCSIN_PUBLIC_URL"),
            console_url=get("TOCSIN_CONSOLE_URL") or get("TOCSIN_PUBLIC_URL") or local_url(
                get("TOCSIN_HOST") or "127.0.0.1", parse_port(get("TOCSIN_PORT") or 8080, "TOCSIN_PORT")),
            max_body_bytes=int(get("TOCSIN_MAX_BODY_BYTES") or 1024 * 1024),
            scheduler=_flag(get("TOCSIN_SCHEDULER"), True),
            receipt_retention_hours=int(get("TOCSIN_RECEIPT_RETENTION_HOURS") or 24),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL") or "https://slack.com/api/",
            slack_timeout=float(get("SLACK_TIMEOUT") or 30.0),
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=get("TELEGRAM_API_URL") or "https://api.telegram.org/bot",
            telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            smtp_host=get("SMTP_HOST"),
            smtp_port=int(get("SMTP_PORT") or 587),
            smtp_username=get("SMTP_USERNAME"),
            smtp_password=get("SMTP_PASSWORD"),
            smtp_starttls=_flag(get("SMTP_STARTTLS"), True),
            smtp_from=get("SMTP_FROM") or "tocsin@localhost",
            notify_webhook_url=get("TOCSIN_NOTIFY_WEBHOOK_URL"),
            notify_webhook_secret=get("TOCSIN_NOTIFY_WEBHOOK_SECRET"),
            notify_retry_cap=float(get("TOCSIN_NOTIFY_RETRY_CAP") or 300),
            notify_failover_after=float(get("TOCSIN_NOTIFY_FAILOVER_AFTER") or 120),
        )
