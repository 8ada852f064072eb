"""The ``tocsin`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError

from bot import inbound_cli, logs, oncall_cli
from bot.config_file import ConfigError, TocsinConfig, load, secrets
from bot.settings import Settings, SettingsError, local_url, parse_port
from storage.backup import BackupError
from storage.db import DatabaseUrlError, async_url, redacted
from storage.errors import DatabaseUnavailable
from storage.migrations import NotReady, check_folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tocsin", description="Tocsin: ChatOps incident bot for on-call teams.")
    parser.add_argument("--database-url", help="overrides TOCSIN_DATABASE_URL (default sqlite:///tocsin.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("serve", "run the bot: HTTP app, webhooks, chat adapters and the escalation scheduler"),
                       ("sidecar", "run only the HTTP app that receives monitoring webhooks and serves the API")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--host", help="listen address (TOCSIN_HOST, default 127.0.0.1)")
        p.add_argument("--port", help="listen port, 1-65535 (TOCSIN_PORT, default 8080)")
        p.add_argument("--config", type=Path, help="config file to apply at start (TOCSIN_CONFIG)")
    p = sub.add_parser("migrate", help="upgrade the database schema to the latest version")
    p.add_argument("--revision", default="head")
    config = sub.add_parser("config", help="check or apply a config file").add_subparsers(dest="action", required=True)
    config.add_parser("check", help="validate a config file").add_argument("file", type=Path)
    config.add_parser("apply", help="apply a config file to the database").add_argument("file", type=Path)
    incidents = sub.add_parser("incidents", help="list or show incidents").add_subparsers(dest="action", required=True)
    lst = incidents.add_parser("list", help="list incidents (open ones by default)")
    lst.add_argument("--all", action="store_true", help="include resolved and cancelled")
    lst.add_argument("--team")
    lst.add_argument("--limit", type=int, default=50)
    incidents.add_parser("show", help="show one incident and its timeline").add_argument("number", type=int)
    p = sub.add_parser("backup", help="copy the database into a new file (safe while serve runs)")
    p.add_argument("file", type=Path)
    p = sub.add_parser("restore", help="load a backup into the database (stop serve first, then migrate)")
    p.add_argument("file", type=Path)
    p.add_argument("--replace", action="store_true", help="overwrite a database that already holds incidents")
    p = sub.add_parser("shell", help="sign in at this terminal as a configured person: cards, pages, /incident")
    p.add_argument("--as", dest="email", required=True, metavar="EMAIL", help="the person's email")
    p.add_argument("--config", type=Path, help="config file to apply at start (TOCSIN_CONFIG)")
    link = sub.add_parser("link-code", help="issue a one-time code that links a Telegram account to a person")
    link.add_argument("email")
    login = sub.add_parser("login-link", help="print a one-time link that signs a person in to the web console")
    login.add_argument("email")
    inbound_cli.add_parser(sub)
    oncall_cli.add_parser(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    overrides = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    for key in ("host", "port", "config"):
        value = getattr(args, key, None)
        if value is not None:
            overrides["config_file" if key == "config" else key] = parse_port(value, "--port") if key == "port" \
                else value
    if ("host" in overrides or "port" in overrides) and not (os.environ.get("TOCSIN_CONSOLE_URL")
                                                             or os.environ.get("TOCSIN_PUBLIC_URL")):
        overrides["console_url"] = local_url(overrides.get("host", settings.host), overrides.get("port", settings.port))
    if overrides:
        settings = Settings(**{**settings.__dict__, **overrides})
    async_url(settings.database_url)  # fail early with a one-line error on a bad URL
    if not (args.command == "config" and args.action == "check"):
        check_folder(settings.database_url)
    return settings


def _load_config(settings: Settings) -> TocsinConfig:
    return load(settings.config_file) if settings.config_file else TocsinConfig()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        config = _load_config(settings) if args.command in ("serve", "sidecar", "shell", "oncall") else TocsinConfig()
        logs.configure(settings.log_level, [
            settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
            settings.telegram_bot_token, settings.telegram_webhook_secret, settings.smtp_password,
            *secrets(config)])
        from bot import commands_cli

        return commands_cli.run(args, settings, config)
    except (DatabaseUrlError, ConfigError, SettingsError) as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 2
    except NotReady as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    except BackupError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    except (OperationalError, DBAPIError, OSError, DatabaseUnavailable) as exc:
        url = redacted(settings.database_url) if "settings" in locals() else "?"
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        print(f"tocsin: cannot use the database at {url}: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

