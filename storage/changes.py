"""Changes reported by senders (deploys, config pushes): kept for responders, never an incident or a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.models import ChangeEvent


@dataclass(frozen=True)
class ChangeIn:
    """One reported change, as parsed from the sender's body."""

    summary: str
    source: str | None = None
    occurred_at: datetime | None = None  # None: when it arrived
    details: dict[str, Any] = field(default_factory=dict)


async def record_change(db: Database, integration: str, change: ChangeIn, now: datetime) -> int:
    """Store the change; its id."""
    row = ChangeEvent(integration=integration, summary=change.summary, source=change.source, details=change.details,
                      occurred_at=change.occurred_at or now, received_at=now)
    async with db.transaction() as session:
        session.add(row)
    return row.id


async def recent_changes(db: Database, integration: str | None = None, limit: int = 50) -> list[ChangeEvent]:
    """The latest changes, newest first (of one integration, or of all)."""
    query = select(ChangeEvent).order_by(ChangeEvent.received_at.desc(), ChangeEvent.id.desc()).limit(limit)
    if integration:
        query = query.where(ChangeEvent.integration == integration)
    async with db.transaction() as session:
        return list(await session.scalars(query))
