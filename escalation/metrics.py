"""Prometheus metrics of the escalation engine."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENESS = Histogram(
    "escalation_lateness_seconds", "How long after its due time an escalation step ran",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
NOTIFICATIONS = Counter("notifications_total", "Notifications handled by the dispatcher", ["channel", "outcome"])
FAILOVERS = Counter("notification_failovers_total",
                    "Pages a channel failed to deliver for a while (or for good), sent on the target's other channels",
                    ["channel"])
