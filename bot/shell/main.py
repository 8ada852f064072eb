"""The ``tocsin shell`` process: sign a configured person in, run their session until Ctrl-D."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import timedelta

from sqlalchemy import func, select

from bot import bootstrap
from bot.app import prepare
from bot.config_file import TocsinConfig
from bot.container import Container
from bot.settings import Settings
from bot.shell.channel import forget_stale
from bot.shell.platform import NAME
from bot.shell.session import Session, SignedIn, words
from bot.shell.terminal import Terminal, TerminalLog
from storage import identity, migrations
from storage.actors import Actor, Source
from storage.db import redacted
from storage.errors import PermissionDenied, UnknownActor
from storage.models import Person
from storage.queries import IncidentFilter


class SignInRefused(Exception):
    """The email names nobody who may read incidents; the message says what to do."""


def run(settings: Settings, config: TocsinConfig, email: str) -> int:
    """Sign ``email`` in at this terminal until Ctrl-D; the exit status."""
    migrations.require_current(settings.database_url, settings.database_connect_timeout)
    hung_up: list[int] = []
    try:
        return asyncio.run(_run(settings, config, email.strip(), Terminal(), hung_up))
    except SignInRefused as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        return 128 + (hung_up[0] if hung_up else signal.SIGINT)


def _stop_on_hang_up(hung_up: list[int]) -> None:
    """A closed terminal window (SIGHUP) or a kill (SIGTERM) ends the session as Ctrl-D does, cleaning up."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    for sig in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda sig=sig: (hung_up.append(sig), task.cancel()))


async def _run(settings: Settings, config: TocsinConfig, email: str, terminal: Terminal,
               hung_up: list[int]) -> int:
    _stop_on_hang_up(hung_up)
    # What is done here schedules and cancels escalation as anywhere else (the ledger hook), planning pages on
    # the channels serve sends on; serve's dispatcher sends them.
    container = bootstrap.build(settings, config, parts=bootstrap.Parts(escalation="ledger"))
    try:
        if settings.config_file is not None:
            await prepare(container, migrate=False)
        person = await sign_in(container, email)
        _log_to(terminal)
        await forget_stale(container.db, container.clock.now() - timedelta(hours=settings.receipt_retention_hours))
        session = Session(container, person, terminal)
        await session.start()
        with terminal.session(words()):
            terminal.write(await greeting(container, person))
            try:
                while (line := await terminal.read_line()) is not None and await session.handle(line):
                    pass
            finally:
                await session.stop()
        return 0
    finally:
        await container.close()


async def sign_in(container: Container, email: str) -> SignedIn:
    """Sign in the person with ``email``, who must hold a role somewhere (or be an admin): their shell
    account is linked (the email, as the config file spells it) and reachable for pages from now on."""
    try:
        readable = await container.queries.readable(Actor(Source.API, email))  # by email, as an API token's
    except UnknownActor:
        raise SignInRefused(f"no person with email {email} in the database at "
                            f"{redacted(container.settings.database_url)}: add them under people: in the "
                            "config file and run `tocsin config apply FILE`") from None
    except PermissionDenied as exc:
        raise SignInRefused(str(exc)) from None
    async with container.db.sessions() as session:
        person_id, address = (await session.execute(select(Person.id, Person.email).where(
            func.lower(Person.email) == email.lower()))).one()
    await identity.link(container.db, person_id, NAME, address, reachable_at=container.clock.now())
    return SignedIn(Actor(NAME, address, readable.name), readable, person_id)


async def greeting(container: Container, person: SignedIn) -> str:
    """Who is signed in where, what is open now, and how to go on."""
    _, open_now = await container.queries.list(IncidentFilter.open(limit=1), person.readable)
    where = redacted(container.settings.database_url)
    return (f"Signed in as {person.actor.display_name} <{person.actor.external_id}> on {where}; "
            f"{open_now} open incident{'' if open_now == 1 else 's'} you can see (list shows them).\n"
            "Cards of your teams' incidents print here as they change. Type help for the commands, Ctrl-D to leave.")


def _log_to(terminal: Terminal) -> None:
    """Warnings and errors print above the typed line, through the secret-redacting filters."""
    root = logging.getLogger()
    handler = TerminalLog(terminal)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for old in root.handlers:
        for f in old.filters:
            handler.addFilter(f)
    root.handlers[:] = [handler]
