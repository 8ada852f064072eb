"""The Starlette application: the routes of every surface the container has, and a lifespan that starts
their components and gives each request the container (``request.state.tocsin``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette

from bot.api.errors import HANDLERS as API_ERRORS
from bot.config_file import apply as apply_config
from bot.container import Container
from bot.surface import Surface
from storage import migrations

log = logging.getLogger(__name__)


async def prepare(container: Container, migrate: bool = True) -> None:
    """Bring the database to the code's schema and apply the config file, if any."""
    if migrate:
        settings = container.settings
        await asyncio.to_thread(migrations.upgrade, settings.database_url, "head", settings.database_connect_timeout)
    if container.settings.config_file is not None:
        report = await apply_config(container.db, container.config, container.clock.now())
        log.info("config %s applied: %s", container.settings.config_file, report.summary())


def create_app(container: Container, migrate: bool = True, banner: Callable[[list[Surface]], None] | None = None,
               prepared: bool = False) -> Starlette:
    """Build the HTTP app of ``container`` (from ``bot.bootstrap.build``); its surfaces start with the app's
    lifespan and stop with it, and the container closes after them.

    ``prepared``: the caller ran ``prepare`` already (``tocsin serve`` does, to report its errors in one line).
    """
    surfaces = container.surfaces

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
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
            yield {"tocsin": container}  # lifespan state: every request's ``request.state.tocsin``
        finally:
            for component in reversed(started):
                try:
                    await component.stop()
                except Exception:
                    log.exception("stopping %s failed", type(component).__name__)
            await container.close()

    routes = [route for surface in surfaces for route in surface.routes]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=API_ERRORS)
