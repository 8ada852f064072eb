"""The gates a due step of an alert-born incident passes before it pages (docs/noise.md).

- The paging threshold (a policy's ``page_after``): page only once the incident has fired that long and
  still fires. The ledger starts the steps ``page_after`` after the incident opened; this is the check at
  the step's due time.
- A maintenance window (storage/maintenance.py) covering the incident: the steps are held, and checked
  again every ``RECHECK`` while it lasts, so that a window ended early (from any process) lets paging resume
  within that time. A step held by a window whose incident no longer fires when the window is over is
  skipped: what cleared during the window stays quiet.
- "N alerts within W" (a policy's ``page_when``): until N of the incident's alerts arrived within the last
  W, the steps are held and checked again every ``RECHECK`` (or W, if shorter). Once the incident paged,
  its later steps are not held again.

An incident declared by hand (no alerts) is never held back: someone already decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.policy import Policy
from storage import maintenance
from storage.models import Alert, Incident

STOPPED_NOTE = "page_after: no alert of the incident still fires"
MAINTENANCE_NOTE = "maintenance window #"  # the held step's note: "maintenance window #3 until ..."
CLEARED_NOTE = "maintenance: no alert of the incident still fires after the window"
MAINTENANCE_EVENT = "maintenance"
#: How often a held step is checked again: the most a page waits after a window ended early, or after the
#: Nth alert arrived.
RECHECK = timedelta(seconds=30)


async def _firing(session: AsyncSession, incident: Incident) -> dict[str, int]:
    return dict((await session.execute(
        select(Alert.status, func.count()).where(Alert.incident_id == incident.id).group_by(Alert.status))).all())


async def stopped_firing(session: AsyncSession, incident: Incident, policy: Policy) -> bool:
    """Whether ``policy`` has a paging threshold and the incident's alerts have all stopped firing."""
    if not policy.page_after:
        return False
    counts = await _firing(session, incident)
    return bool(counts) and not counts.get("firing")


@dataclass(frozen=True)
class Hold:
    """Hold the pending steps until ``until``; ``note`` goes on the step, ``event`` (if any) in the timeline."""

    until: datetime
    note: str
    event: str | None = None
    window: int | None = None
    window_end: datetime | None = None


async def maintenance_hold(session: AsyncSession, incident: Incident, now: datetime) -> Hold | None:
    """The hold of a running maintenance window covering the (alert-born) incident, if any."""
    if incident.dedup_key is None:
        return None
    window = await maintenance.covering(session, incident, now)
    if window is None:
        return None
    until = f"{window.end_at:%Y-%m-%d %H:%M} UTC"
    reason = f" ({window.reason})" if window.reason else ""
    return Hold(min(window.end_at, now + RECHECK), f"{MAINTENANCE_NOTE}{window.id} until {until}",
                f"in maintenance window #{window.id} until {until}{reason}: nobody is paged while it lasts",
                window.id, window.end_at)


async def cleared_after_maintenance(session: AsyncSession, incident: Incident, note: str | None) -> bool:
    """Whether a step held by a window that is over now belongs to an incident whose alerts all cleared."""
    if not (note or "").startswith(MAINTENANCE_NOTE):
        return False
    counts = await _firing(session, incident)
    return bool(counts) and not counts.get("firing")


async def threshold_hold(session: AsyncSession, incident: Incident, policy: Policy, now: datetime) -> Hold | None:
    """``page_when``: hold an alert-born incident not yet paged until N of its alerts arrived within W."""
    if not policy.page_when_alerts or incident.dedup_key is None or incident.escalation_level > 0:
        return None
    within = policy.page_when_within
    arrived = await session.scalar(select(func.count()).select_from(Alert).where(
        Alert.incident_id == incident.id, Alert.created_at > now - within)) or 0
    if arrived >= policy.page_when_alerts:
        return None
    return Hold(now + min(RECHECK, within),
                f"page_when: {arrived} of {policy.page_when_alerts} alerts within {_words(within)}; checked again")


def _words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
