"""The paging threshold (a policy's ``page_after``): page an alert-born incident only once it has fired
that long and still fires. The ledger starts the steps ``page_after`` after the incident opened; this is
the check at the step's due time. An incident declared by hand (no alerts) is never held back.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.policy import Policy
from storage.models import Alert, Incident

STOPPED_NOTE = "page_after: no alert of the incident still fires"


async def stopped_firing(session: AsyncSession, incident: Incident, policy: Policy) -> bool:
    """Whether ``policy`` has a paging threshold and the incident's alerts have all stopped firing."""
    if not policy.page_after:
        return False
    counts = dict((await session.execute(
        select(Alert.status, func.count()).where(Alert.incident_id == incident.id).group_by(Alert.status))).all())
    return bool(counts) and not counts.get("firing")
