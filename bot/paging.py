"""Wires the escalation engine (scheduler, ledger, notification outbox) into the process."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    if not container.settings.scheduler:
        return Surface.off("scheduler", "TOCSIN_SCHEDULER=off")
    return Surface.off("scheduler", "not built yet")
