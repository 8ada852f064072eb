"""What each ``tocsin`` subcommand does (parsing lives in ``bot.cli``)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import socket
import sys

import uvicorn

from bot import bootstrap, inbound_cli
from bot.app import create_app, prepare
from bot.config_file import ApplyReport, load
from bot.config_file import apply as apply_config
from bot.container import Container
from bot.reload import POLL as RELOAD_POLL
from bot.settings import Settings
from bot.surface import Surface
from escalation.timer import SchedulerRefused
from storage import backup, linking, migrations
from storage.db import redacted
from storage.errors import TocsinError
from storage.queries import IncidentFilter


def run(args: argparse.Namespace, settings: Settings, config) -> int:
    if args.command in ("serve", "sidecar"):
        return _serve(settings, config, bootstrap.SERVE if args.command == "serve" else bootstrap.SIDECAR)
    if args.command == "migrate":
        migrations.upgrade(settings.database_url, args.revision, settings.database_connect_timeout)
        print(f"database {redacted(settings.database_url)} is at {migrations.current_revision(settings.database_url, settings.database_connect_timeout)}")
        return 0
    if args.command == "config":
        return _config(args, settings)
    if args.command == "incidents":
        migrations.require_current(settings.database_url, settings.database_connect_timeout)
        return asyncio.run(_incidents(args, settings))
    if args.command == "link-code":
        migrations.require_current(settings.database_url, settings.database_connect_timeout)
        return asyncio.run(_link_code(args, settings))
    if args.command == "login-link":
        migrations.require_current(settings.database_url, settings.database_connect_timeout)
        return asyncio.run(_login_link(args, settings))
    if args.command == "inbound":
        migrations.require_current(settings.database_url, settings.database_connect_timeout)
        return inbound_cli.run(args, settings)
    if args.command == "oncall" and args.action == "feed":
        from bot import oncall_feeds_cli
        migrations.require_current(settings.database_url, settings.database_connect_timeout)
        return oncall_feeds_cli.run(args, settings)
    if args.command == "oncall" and args.action == "fairness":
        from bot import oncall_feeds_cli
        migrations.require_current(settings.database_url, settings.database_connect_timeout)
        return oncall_feeds_cli.run_fairness(args, settings)
    if args.command == "oncall":
        from datetime import UTC, datetime

        from bot import oncall_cli
        from storage.db import DEFAULT_URL
        if args.action in ("override", "cancel", "overrides", "offer", "offers", "take", "cancel-offer"):
            migrations.require_current(settings.database_url, settings.database_connect_timeout)
            return asyncio.run(oncall_cli.change(args, settings))
        covering = []
        if settings.database_url != DEFAULT_URL:  # a database was named: its overrides apply too
            migrations.require_current(settings.database_url, settings.database_connect_timeout)
            covering = asyncio.run(oncall_cli.overrides_of(settings, args.schedule))
        return oncall_cli.run(args, config, datetime.now(UTC), covering)
    if args.command == "shell":
        from bot.shell import main as shell

        return shell.run(settings, config, args.email)
    if args.command in ("backup", "restore"):
        return _backup(args, settings)
    raise AssertionError(args.command)


def _serve(settings: Settings, config, parts: bootstrap.Parts) -> int:
    container = bootstrap.build(settings, config, parts=parts)
    next_step: list[str] = []

    def banner(surfaces: list[Surface]) -> None:
        print(f"Tocsin listening on http://{settings.host}:{settings.port} "
              f"(database {redacted(settings.database_url)})", flush=True)
        for surface in surfaces:
            print(f"  {surface.name}: {surface.status}", flush=True)
        for line in next_step:
            print(line, flush=True)

    app = create_app(container, banner=banner, prepared=True)
    try:  # refuse before the database is touched: nothing is migrated or applied by a process that cannot run
        _claim_scheduler(container)
        listener = _listen(settings.host, settings.port)
    except (SchedulerRefused, CannotListen) as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    server = uvicorn.Server(uvicorn.Config(app, log_level=settings.log_level.lower(), lifespan="on",
                                           log_config=None))

    async def go() -> None:
        try:
            await prepare(container)
            if any(surface.name == "console" for surface in container.surfaces):
                from bot.console.demo import first_run

                next_step.append(await first_run(container))
        except BaseException:
            await container.close()
            raise
        await server.serve(sockets=[listener])

    asyncio.run(go())
    return 0 if server.started else 1


class CannotListen(OSError):
    """The HTTP port cannot be had; the message says what to change."""


def _claim_scheduler(container: Container) -> None:
    """Take the SQLite scheduler lock now, which the timer keeps when it starts."""
    if container.paging is not None and container.settings.scheduler:
        container.paging.timer.lock.acquire()


def _listen(host: str, port: int) -> socket.socket:
    """The bound HTTP socket, or a one-line reason and what to change."""
    where, change = f"{host}:{port}", "pick another with --port N (or TOCSIN_PORT)"
    try:
        # IPv6 only for an IPv6 address, as uvicorn chooses: "localhost" stays 127.0.0.1
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on host {host!r} ({exc.strerror}): give an address of this machine "
                           "with --host (or TOCSIN_HOST), e.g. 127.0.0.1 or 0.0.0.0") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"{where} is already in use (another Tocsin?): stop that, or {change}") from None
        if exc.errno == errno.EACCES:
            raise CannotListen(f"not allowed to listen on {where} (ports below 1024 need privileges): "
                               f"{change}") from None
        raise CannotListen(f"cannot listen on {where} ({exc.strerror}): check --host (or TOCSIN_HOST), "
                           f"or {change}") from None
    return sock


def _config(args: argparse.Namespace, settings: Settings) -> int:
    config = load(args.file)
    if args.action == "check":
        print(f"{args.file}: OK ({len(config.teams)} teams, {len(config.people)} people, "
              f"{len(config.integrations)} integrations, {len(config.policies)} escalation policies)")
        return 0
    migrations.upgrade(settings.database_url, connect_timeout=settings.database_connect_timeout)

    async def go() -> ApplyReport:
        container = bootstrap.build(settings, config)
        try:
            return await apply_config(container.db, config, container.clock.now())
        finally:
            await container.close()

    report = asyncio.run(go())
    print(f"{args.file} applied to {redacted(settings.database_url)}: {report.summary()}")
    runtime = f"running processes use them within {RELOAD_POLL:g} s (generation {report.generation})" \
        if report.generation else "unchanged"
    print(f"  teams, people, roles and escalation policies: in effect now\n"
          f"  integrations, API tokens and routing: {runtime}\n"
          "  environment variables (SLACK_*, TELEGRAM_*, SMTP_*, TOCSIN_*) are read at start: "
          "restart the processes to change those")
    return 0


async def _incidents(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap.build(settings)
    try:
        if args.action == "list":
            query = IncidentFilter(team=args.team, limit=args.limit) if args.all else \
                IncidentFilter.open(team=args.team, limit=args.limit)
            views, total = await container.queries.list(query)
            for v in views:
                team = v.team.name if v.team else "-"
                print(f"#{v.number:<5} {v.status.value:<12} {v.severity.value:<8} {team:<12} {v.title}")
            print(f"{total} incident{'s' if total != 1 else ''}")
            return 0
        view = await container.queries.get(args.number)
        print(f"#{view.number} {view.title}\n  status {view.status.value}, severity {view.severity.value}, "
              f"team {view.team.name if view.team else '-'}, service {view.service or '-'}")
        print(f"  alerts: {view.alerts_firing} firing, {view.alerts_resolved} resolved")
        for entry in await container.queries.timeline(args.number):
            print(f"  {entry.at:%Y-%m-%d %H:%M:%S} {entry.kind:<16} {entry.actor_name or '-'}: {entry.text or ''}")
        return 0
    except TocsinError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    finally:
        await container.close()


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    where = redacted(settings.database_url)
    if args.command == "backup":
        backup.backup(settings.database_url, args.file)
        print(f"database {where} backed up to {args.file}")
    else:
        backup.restore(settings.database_url, args.file, replace=args.replace)
        print(f"{args.file} restored into {where}; run tocsin migrate before tocsin serve")
    return 0


async def _link_code(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap.build(settings)
    try:
        person_id = await container.queries.person_id(args.email)
        if person_id is None:
            print(f"tocsin: no person with email {args.email}", file=sys.stderr)
            return 1
        code = await linking.issue_code(container.db, person_id, container.clock.now())
        print(f"Send this to the Tocsin bot on Telegram within 30 minutes: /start {code}")
        return 0
    finally:
        await container.close()


async def _login_link(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console.signin import SignInRefused, login_link

    container = bootstrap.build(settings)
    try:
        link = await login_link(container, args.email)
    except SignInRefused as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    finally:
        await container.close()
    print(f"Open this link within 15 minutes to sign in to the Tocsin console (it works once):\n{link}")
    return 0
