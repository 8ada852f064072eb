"""The REST API (JSON, bearer tokens from the config file)."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    return Surface.off("api", "not built yet")
