"""Build immutable views from ORM rows, inside the session that loaded them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import oncall_cards
from storage.models import Alert, Incident, IncidentEvent, Person, Team
from storage.states import Severity, Status
from storage.views import (
    Account,
    AlertView,
    IncidentView,
    Link,
    OnCall,
    PersonRef,
    Room,
    SilenceRef,
    TeamRef,
    TimelineEntry,
)

MAX_ALERTS_IN_VIEW = 10
LINK_ANNOTATIONS = (("runbook_url", "Runbook"), ("dashboard_url", "Dashboard"), ("panel_url", "Panel"),
                    ("silence_url", "Silence"), ("alertmanager_url", "Alertmanager"))
MAX_LINKS = 6  # each of the above, the sender's named links and the alert's source (generatorURL), once
MAX_LABEL = 40  # a link's text on the card


def person_ref(person: Person | None) -> PersonRef | None:
    if person is None:
        return None
    return PersonRef(person.id, person.name, person.email,
                     {i.platform: Account(i.external_id, i.reachable_at is not None) for i in person.identities})


def team_ref(team: Team | None) -> TeamRef | None:
    if team is None:
        return None
    return TeamRef(team.id, team.name, {b.platform: Room(b.chat, b.thread) for b in team.bindings})


def alert_view(alert: Alert) -> AlertView:
    labels, notes = alert.labels or {}, alert.annotations or {}
    return AlertView(
        fingerprint=alert.fingerprint,
        status=alert.status,
        name=str(labels.get("alertname", alert.fingerprint)),
        summary=str(notes.get("summary") or notes.get("description") or ""),
        labels=dict(labels),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        occurrence_count=alert.occurrence_count,
        last_seen_at=alert.last_seen_at,
    )


def _links(alerts: Sequence[Alert]) -> tuple[Link, ...]:
    seen: dict[str, Link] = {}
    for alert in alerts:
        annotations = alert.annotations or {}
        for key, label in LINK_ANNOTATIONS:
            url = annotations.get(key)
            if isinstance(url, str) and url and url not in seen:  # kept as sent, but only text is a link
                seen[url] = Link(label, str(url))
        for named in annotations.get("links") or ():  # the sender's own (generic ``links``, a mapping's)
            if isinstance(named, dict) and isinstance(url := named.get("href"), str) and url and url not in seen:
                label = named.get("text")
                seen[url] = Link(label[:MAX_LABEL] if isinstance(label, str) and label.strip() else "Link", url)
        if alert.generator_url and alert.generator_url not in seen:
            seen[alert.generator_url] = Link("Source", alert.generator_url)
    return tuple(list(seen.values())[:MAX_LINKS])


def _alert_description(incident: Incident, alerts: Sequence[Alert]) -> str | None:
    """The first alert's ``description`` annotation (Alertmanager's and Grafana's convention), unless it
    only repeats the title."""
    for alert in alerts:
        text = (alert.annotations or {}).get("description")
        if isinstance(text, str) and text.strip() and text.strip() != incident.title:
            return text.strip()
    return None


async def alert_counts(session: AsyncSession, incident_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Firing and resolved alert counts per incident, in one query."""
    counts: dict[int, dict[str, int]] = {i: {} for i in incident_ids}
    if incident_ids:
        rows = await session.execute(
            select(Alert.incident_id, Alert.status, func.count())
            .where(Alert.incident_id.in_(incident_ids))
            .group_by(Alert.incident_id, Alert.status)
        )
        for incident_id, status, count in rows:
            counts[incident_id][status] = count
    return counts


SILENCE_KINDS = ("silenced", "unsilenced")


def _silence(event: IncidentEvent | None) -> SilenceRef | None:
    """The silence a ``silenced`` event recorded, unless an ``unsilenced`` one came after it."""
    if event is None or event.kind != "silenced":
        return None
    data = event.data or {}
    try:
        until = datetime.fromisoformat(str(data["until"]))
    except (KeyError, ValueError):
        return None
    return SilenceRef(str(data.get("silence_id", "")), until if until.tzinfo else until.replace(tzinfo=UTC),
                      data.get("by") or event.actor_name)


async def silences(session: AsyncSession, incident_ids: Sequence[int]) -> dict[int, SilenceRef | None]:
    """Each incident's silence (``_silence`` of its last silence event), in one query."""
    last: dict[int, IncidentEvent] = {}
    if incident_ids:
        for event in await session.scalars(
                select(IncidentEvent).where(IncidentEvent.incident_id.in_(incident_ids),
                                            IncidentEvent.kind.in_(SILENCE_KINDS))
                .order_by(IncidentEvent.at, IncidentEvent.id)):
            last[event.incident_id] = event
    return {i: _silence(last.get(i)) for i in incident_ids}


def incident_view(
    incident: Incident, counts: dict[str, int] | None = None, alerts: Sequence[Alert] = (),
    silence: SilenceRef | None = None,
    on_call: tuple[OnCall, ...] = (),
) -> IncidentView:
    counts = counts or {}
    return IncidentView(
        id=incident.id,
        number=incident.number,
        title=incident.title,
        description=incident.description or _alert_description(incident, alerts),
        status=Status(incident.status),
        severity=Severity(incident.severity),
        service=incident.service,
        team=team_ref(incident.team),
        labels=dict(incident.labels or {}),
        dedup_key=incident.dedup_key,
        source=incident.source,
        created_by=person_ref(incident.created_by),
        assignee=person_ref(incident.assignee),
        acknowledged_by=person_ref(incident.acknowledged_by),
        resolved_by=person_ref(incident.resolved_by),
        created_at=incident.created_at,
        acknowledged_at=incident.acknowledged_at,
        resolved_at=incident.resolved_at,
        updated_at=incident.updated_at,
        snoozed_until=incident.snoozed_until,
        escalation_policy=incident.escalation_policy,
        escalation_level=incident.escalation_level,
        alerts_firing=counts.get("firing", 0),
        alerts_resolved=counts.get("resolved", 0),
        truncated_alerts=incident.truncated_alerts,
        links=_links(alerts),
        alerts=tuple(alert_view(a) for a in alerts[:MAX_ALERTS_IN_VIEW]),
        silence=silence,
        on_call=on_call,
    )


async def _on_call(session: AsyncSession, incidents: Sequence[Incident],
                   now: datetime | None) -> dict[str, tuple[OnCall, ...]]:
    """Who is on call for these incidents' teams at ``now`` (nothing without ``now``: the card has no line)."""
    teams = {i.team.name for i in incidents if i.team is not None}
    return await oncall_cards.of_teams(session, teams, now) if now is not None and teams else {}


async def full_view(session: AsyncSession, incident: Incident, now: datetime | None = None) -> IncidentView:
    """The view of one incident with its alert counts, first alerts and links; with ``now``, who is on call
    for its team then (the card's "On call" line)."""
    await session.refresh(incident, ["team", "created_by", "assignee", "acknowledged_by", "resolved_by"])
    # the incident's last silence event rides along with its alerts (a silence needs alerts): no extra round
    # trip for the view of an incident never silenced, which is what ingest builds
    last_silence = (select(IncidentEvent.id)
                    .where(IncidentEvent.incident_id == incident.id, IncidentEvent.kind.in_(SILENCE_KINDS))
                    .order_by(IncidentEvent.at.desc(), IncidentEvent.id.desc()).limit(1).scalar_subquery())
    rows = (
        await session.execute(
            select(Alert, last_silence)
            .where(Alert.incident_id == incident.id)
            .order_by(Alert.status, Alert.starts_at, Alert.id)
            .limit(MAX_ALERTS_IN_VIEW + 1)
        )
    ).all()
    alerts = [alert for alert, _ in rows]
    event_id = rows[0][1] if rows else None
    if len(alerts) <= MAX_ALERTS_IN_VIEW:  # all of them: count here rather than ask again
        counts: dict[str, int] = {}
        for alert in alerts:
            counts[alert.status] = counts.get(alert.status, 0) + 1
    else:
        counts = (await alert_counts(session, [incident.id]))[incident.id]
    silence = _silence(await session.get(IncidentEvent, event_id)) if event_id is not None else None
    on_call = await _on_call(session, [incident], now)
    return incident_view(incident, counts, alerts[:MAX_ALERTS_IN_VIEW], silence,
                         on_call.get(incident.team.name, ()) if incident.team else ())


async def full_views(session: AsyncSession, incidents: Sequence[Incident],
                     now: datetime | None = None) -> list[IncidentView]:
    """``full_view`` of each incident (loaded with their people and team), in two queries for them all: the
    alert counts, and each incident's first alerts (ranked as ``full_view`` orders them); with ``now``, the
    on-call lines of all their teams at once."""
    ids = [i.id for i in incidents]
    counts = await alert_counts(session, ids)
    first: dict[int, list[Alert]] = {i: [] for i in ids}
    if ids:
        rank = func.row_number().over(partition_by=Alert.incident_id,
                                      order_by=(Alert.status, Alert.starts_at, Alert.id)).label("rank")
        ranked = select(Alert, rank).where(Alert.incident_id.in_(ids)).subquery()
        alert = aliased(Alert, ranked)
        for row in await session.scalars(select(alert).where(ranked.c.rank <= MAX_ALERTS_IN_VIEW)
                                         .order_by(ranked.c.incident_id, ranked.c.rank)):
            first[row.incident_id].append(row)
    silenced = await silences(session, [i for i in ids if first[i]])
    on_call = await _on_call(session, incidents, now)
    return [incident_view(i, counts[i.id], first[i.id], silenced.get(i.id),
                          on_call.get(i.team.name, ()) if i.team else ())
            for i in incidents]


def timeline_entry(event: IncidentEvent) -> TimelineEntry:
    return TimelineEntry(event.kind, event.at, event.actor_name, event.actor_source, event.text, dict(event.data or {}))
