"""Running processes pick up ``tocsin config apply``: the integrations, API tokens and routing it stored
are reloaded within ``POLL`` seconds of their generation moving; every request reads the current ones."""

from __future__ import annotations

import asyncio
import logging

from bot import logs
from bot.config_file import applied, applied_generation, secrets, with_runtime
from bot.container import Container
from bot.surface import Surface
from storage.background import Background

log = logging.getLogger(__name__)

POLL = 2.0  # seconds between two looks at the applied generation (one primary-key read)


class ConfigReloader(Background):
    """Keeps ``container.config``'s integrations, API tokens and routing at the applied generation."""

    def __init__(self, container: Container, poll: float = POLL) -> None:
        self.container, self.poll = container, poll
        self.generation: int | None = None
        self.surface = Surface("config", f"on (integrations, API tokens and routing reload within {poll:g} s of "
                                         "`tocsin config apply`)", components=[self])

    async def start(self) -> None:
        await self.load()  # a process started without the file uses what was applied last
        await super().start()

    async def load(self) -> None:
        """Use the applied integrations, API tokens and routing, if they moved since the last look."""
        state = await applied(self.container.db)
        if state is None or state.generation == self.generation:
            return
        config = with_runtime(self.container.config, state.document)
        logs.add_secrets(secrets(config))  # before anything could log them
        self.container.config, self.generation = config, state.generation
        self.surface.status = (f"on (generation {state.generation}: {len(config.integrations)} integrations, "
                               f"{len(config.api_tokens)} API tokens; reloads within {self.poll:g} s of "
                               "`tocsin config apply`)")
        log.info("config generation %d in use: %d integrations, %d API tokens", state.generation,
                 len(config.integrations), len(config.api_tokens))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            try:
                if await applied_generation(self.container.db) != self.generation:
                    await self.load()
            except Exception as exc:  # the database is away: keep the config in use, look again later
                log.warning("could not read the applied config (%s); still using generation %s",
                            type(exc).__name__, self.generation)

