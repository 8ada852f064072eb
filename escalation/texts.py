"""The one-line texts of pages and notices (platform-neutral; each sender formats its own way)."""

from __future__ import annotations

from datetime import timedelta

from storage.models import Incident


def ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def page(incident: Incident, level: int, open_for: timedelta) -> str:
    return (f"#{incident.number} {incident.title} [{incident.severity}] is not acknowledged after "
            f"{ago(open_for)}: escalation level {level}")


def closing(incident: Incident, kind: str, by: str | None) -> str:
    return f"#{incident.number} {incident.title} was {kind}" + (f" by {by}" if by else "")


def overdue(incident: Incident, level: int, late: timedelta) -> str:
    return f"Escalation overdue: #{incident.number} level {level} ran {ago(late)} late"


def ago_seconds(seconds: float) -> str:
    return ago(timedelta(seconds=seconds))


def failed_over(channel: str, since: timedelta, refused: bool = False) -> str:
    if refused:
        return f"(Sent here because {channel.title()} refused this page.)"
    return f"(Sent here because {channel.title()} has not delivered this page for {ago(since)}.)"


def channel_down(incident: Incident, channel: str, since: timedelta, refused: bool = False) -> str:
    if refused:
        return (f"{channel.title()} refused a page for #{incident.number} {incident.title}: Tocsin pages on the "
                f"other channels instead.")
    return (f"{channel.title()} is failing: a page for #{incident.number} {incident.title} has not been delivered "
            f"there for {ago(since)}. Tocsin keeps retrying it and pages on the other channels meanwhile.")
