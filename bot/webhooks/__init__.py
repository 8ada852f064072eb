"""Monitoring webhooks: Alertmanager, Grafana, Elastic, generic JSON, PagerDuty Events v2."""

from __future__ import annotations

from bot.container import Container
from bot.surface import Surface


def setup(container: Container) -> Surface:
    return Surface.off("webhooks", "not built yet")
