"""The Starlette application: routes from every surface, and a lifespan that starts their components."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from starlette.applications import Starlette

from bot import api, health, housekeeping, paging, reload, slack, telegram, webhooks
from bot.api.errors import HANDLERS as API_ERRORS
from bot.config_file import apply as apply_config
from bot.container import Container
from bot.surface import Surface
from storage import migrations

log = logging.getLogger(__name__)

Setup = Callable[[Container], Surface]
_HTTP: tuple[Setup, ...] = (health.setup, webhooks.setup, api.setup, reload.setup)
#: The sidecar: receives monitoring webhooks and serves the API, without chat adapters or the scheduler,
#: but with the escalation ledger hook, so incidents it opens or acknowledges are escalated by ``serve``.
SIDECAR: tuple[Setup, ...] = (*_HTTP, paging.setup_ledger_only)
#: Everything: ``tocsin serve``.
EVERYTHING: tuple[Setup, ...] = (*_HTTP, slack.setup, telegram.setup, paging.setup, housekeeping.setup)


async def prepare(container: Container, migrate: bool = True) -> None:
    """Bring the database to the code's schema and apply the config file, if any."""
    if migrate:
        settings = container.settings
        await asyncio.to_thread(migrations.upgrade, settings.database_url, "head", settings.database_connect_timeout)
    if container.settings.config_file is not None:
        report = await apply_config(container.db, container.config, container.clock.now())
        log.info("config %s applied: %s", container.settings.config_file, report.summary())


def create_app(container: Container, setups: Sequence[Setup] = EVERYTHING, migrate: bool = True,
               banner: Callable[[list[Surface]], None] | None = None, prepared: bool = False) -> Starlette:
    """Build the HTTP app; surfaces start with the app's lifespan and stop with it.

    ``prepared``: the caller ran ``prepare`` already (``tocsin serve`` does, to report its errors in one line).
    """
    surfaces = [setup(container) for setup in setups]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not prepared:
            await prepare(container, migrate)
        started = []
        try:
            for surface in surfaces:
                for component in surface.components:
                    await component.start()
                    started.append(component)
            if banner:
                banner(surfaces)
            yield
        finally:
            for component in reversed(started):
                try:
                    await component.stop()
                except Exception:
                    log.exception("stopping %s failed", type(component).__name__)
            await container.close()

    routes = [route for surface in surfaces for route in surface.routes]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=API_ERRORS)
    app.state.container = container
    app.state.surfaces = surfaces
    return app
