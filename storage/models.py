"""SQLAlchemy models: the database schema Tocsin relies on.

The database enforces what matters (allowed statuses and severities, timestamp order, one open
incident per dedup key), not only the code. Every change here needs an Alembic migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import JSONDoc, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STATUSES = ("open", "escalating", "acknowledged", "resolved", "cancelled")
OPEN_STATUSES = ("open", "escalating", "acknowledged")
SEVERITIES = ("critical", "high", "medium", "low")
ROLES = ("observer", "stakeholder", "responder", "incident_commander", "team_lead", "manager", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_OPEN_WHERE = text(_in("status", OPEN_STATUSES))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONDoc}


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    escalation_policy: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(back_populates="team")
    bindings: Mapped[list[ChatBinding]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                       passive_deletes=True)

    def binding(self, platform: str) -> ChatBinding | None:
        """The team's chat on ``platform``, if it has one."""
        return next((b for b in self.bindings if b.platform == platform), None)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    is_admin: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(back_populates="person")
    identities: Mapped[list[ChatIdentity]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                          passive_deletes=True)

    def identity(self, platform: str) -> ChatIdentity | None:
        """The person's account on ``platform``, if linked."""
        return next((i for i in self.identities if i.platform == platform), None)


class ChatIdentity(Base):
    """A person's account on a chat platform. ``reachable_at``: since when the platform lets Tocsin write
    to them directly (NULL: not yet, e.g. they have not opened a chat with the bot)."""

    __tablename__ = "chat_identity"
    __table_args__ = (UniqueConstraint("platform", "external_id"), UniqueConstraint("person_id", "platform"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    reachable_at: Mapped[datetime | None]


class ChatBinding(Base):
    """A team's chat on a platform: where its cards and team pages go (``thread``: a part of that chat)."""

    __tablename__ = "chat_binding"
    __table_args__ = (UniqueConstraint("team_id", "platform"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat: Mapped[str] = mapped_column(String(64))
    thread: Mapped[str | None] = mapped_column(String(64))


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("person_id", "team_id"),
        CheckConstraint(_in("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    person: Mapped[Person] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship(back_populates="memberships")


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        CheckConstraint("acknowledged_at IS NULL OR acknowledged_at >= created_at", name="ack_after_create"),
        CheckConstraint("resolved_at IS NULL OR resolved_at >= created_at", name="resolve_after_create"),
        CheckConstraint(
            "resolved_at IS NULL OR acknowledged_at IS NULL OR resolved_at >= acknowledged_at",
            name="resolve_after_ack",
        ),
        CheckConstraint("updated_at >= created_at", name="update_after_create"),
        CheckConstraint(
            "(status IN ('resolved', 'cancelled')) = (resolved_at IS NOT NULL)", name="final_has_resolved_at"
        ),
        CheckConstraint("status <> 'acknowledged' OR acknowledged_at IS NOT NULL", name="ack_has_time"),
        # At most one open incident per dedup key: a partial unique index on both databases.
        Index(
            "uq_incident_open_dedup_key",
            "dedup_key",
            unique=True,
            postgresql_where=_OPEN_WHERE,
            sqlite_where=_OPEN_WHERE,
        ),
        Index("ix_incident_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(500))
    group_key: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(32))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    snoozed_until: Mapped[datetime | None]
    escalation_policy: Mapped[str | None] = mapped_column(String(100))
    escalation_level: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    truncated_alerts: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    team: Mapped[Team | None] = relationship(lazy="joined")
    created_by: Mapped[Person | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    acknowledged_by: Mapped[Person | None] = relationship(foreign_keys=[acknowledged_by_id], lazy="joined")
    resolved_by: Mapped[Person | None] = relationship(foreign_keys=[resolved_by_id], lazy="joined")


class Alert(Base):
    """One alert (by fingerprint) within one incident. A refire after resolution is a new row."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("incident_id", "fingerprint"),
        CheckConstraint(_in("status", ("firing", "resolved")), name="status"),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_starts"),
        CheckConstraint("occurrence_count >= 1", name="occurrence_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(32))
    generator_url: Mapped[str | None] = mapped_column(Text)
    occurrence_count: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    last_seen_at: Mapped[datetime]
    created_at: Mapped[datetime]


class IncidentEvent(Base):
    """The timeline and audit trail. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "incident_event"
    __table_args__ = (Index("ix_incident_event_incident_id_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_source: Mapped[str] = mapped_column(String(32))
    actor_external_id: Mapped[str | None] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]


class ChatMessageRef(Base):
    """Every place an incident card (or a page about it) was posted, so every copy can be updated."""

    __tablename__ = "chat_message_ref"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), server_default="card")
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime]


class EscalationPolicy(Base):
    """A named escalation policy, written by ``tocsin config apply`` from the config file."""

    __tablename__ = "escalation_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    match: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    repeat: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime]


class LinkCode(Base):
    """A one-time code that links a chat identity to a person."""

    __tablename__ = "link_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ConsoleLogin(Base):
    """A one-time sign-in link to the web console (``tocsin login-link``); only its hash is kept."""

    __tablename__ = "console_login"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser: the hash of its cookie's random id, its CSRF token, until when it holds."""

    __tablename__ = "console_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


FEED_KINDS = ("schedule", "person")


class CalendarFeed(Base):
    """The secret token of an iCalendar feed of one schedule or one person's shifts (``tocsin oncall feed``);
    rotating it replaces the token, so the old URL stops working."""

    __tablename__ = "calendar_feed"
    __table_args__ = (UniqueConstraint("kind", "subject"), CheckConstraint(_in("kind", FEED_KINDS), name="kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(320))  # the schedule's name, or the person's email
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class ChangeEvent(Base):
    """A change a sender reported (a deploy, a config push): recorded for responders, never paged."""

    __tablename__ = "change_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200), index=True)
    summary: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # custom_details and links
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]


class ConfigState(Base):
    """The applied config file's integrations, API tokens, routing and on-call schedules (one row, id 1), which running
    processes reload when ``generation`` moves; teams, people and policies have tables of their own."""

    __tablename__ = "config_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column()  # secrets included: the database holds them
    applied_at: Mapped[datetime]


class InboundReceipt(Base):
    """Inbound deliveries already processed (a platform's update or event ids)."""

    __tablename__ = "inbound_receipt"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime]


INBOUND_STATUSES = ("pending", "done", "failed", "dead")


class InboundDelivery(Base):
    """A delivery from a chat platform kept until it is processed: an update recorded before the webhook
    answers, a failed background listener. Failed rows are retried; dead ones wait for a replay."""

    __tablename__ = "inbound_delivery"
    __table_args__ = (
        UniqueConstraint("platform", "key"),
        CheckConstraint(_in("status", INBOUND_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_inbound_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))  # the platform's delivery id
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))  # failed attempts so far
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]  # also the lease: a claimer moves it past the time it needs
    updated_at: Mapped[datetime]


# -- escalation: the ledger, the notification outbox, preferences ---------------------------------

STEP_STATUSES = ("PENDING", "EXECUTED", "CANCELLED", "SKIPPED", "FAILED")
NOTIFICATION_STATUSES = ("PENDING", "SENT", "FAILED", "CANCELLED")
NOTIFICATION_KINDS = ("page", "notice", "oncall")  # oncall: a handoff notice or shift reminder, no incident


class EscalationStep(Base):
    """The escalation ledger: one row per (incident, repeat, step). Rows are never deleted."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        UniqueConstraint("incident_id", "repeat", "step"),
        CheckConstraint(_in("status", STEP_STATUSES), name="status"),
        CheckConstraint("status <> 'EXECUTED' OR executed_at IS NOT NULL", name="executed_has_time"),
        Index("ix_escalation_step_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="RESTRICT"), index=True)
    policy: Mapped[str] = mapped_column(String(100))
    repeat: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    scheduled_at: Mapped[datetime]  # as first planned; due_at moves only when a snooze holds the step
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), server_default="PENDING")
    executed_at: Mapped[datetime | None]
    late_by_seconds: Mapped[float | None] = mapped_column(Float)
    executed_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Notification(Base):
    """The notification outbox: one row per (incident, reason, target, channel), delivered by the dispatcher."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("incident_id", "reason", "target", "channel"),
        CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="status"),
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="RESTRICT"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_step.id", ondelete="RESTRICT"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    topic: Mapped[str | None] = mapped_column(String(64))  # a part of the chat at ``address`` (its binding's thread)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="PENDING")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    thread: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    failed_over_at: Mapped[datetime | None]  # its channel kept failing: paged on other channels then


class NotificationPreference(Base):
    """The channels a person accepts pages on, in the order they prefer them."""

    __tablename__ = "notification_preference"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[dict[str, Any]] = mapped_column()  # {"accept": ["email", "webhook"]}
    updated_at: Mapped[datetime]


class OncallOverride(Base):
    """Someone covering a schedule from ``start_at`` to ``end_at`` (for a named person, or whoever is on call);
    it wins over the layers, a newer one over an older. Cancelling sets ``cancelled_at``; rows stay."""

    __tablename__ = "oncall_override"
    __table_args__ = (CheckConstraint("end_at > start_at", name="end_after_start"),
                      Index("ix_oncall_override_schedule_end_at", "schedule", "end_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    for_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class OncallOverrideEvent(Base):
    """The audit trail of overrides: who created or cancelled which, when. Append-only: triggers refuse
    UPDATE and DELETE."""

    __tablename__ = "oncall_override_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    override_id: Mapped[int] = mapped_column(ForeignKey("oncall_override.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))  # created | cancelled
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_source: Mapped[str] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]


class MaintenanceWindow(Base):
    """A maintenance window (docs/noise.md): alerts matching it page nobody from ``start_at`` to ``end_at``.
    It matches by team, service and labels (all given must match; none given: every alert-born incident).
    Ending one early sets ``ended_at``; rows stay. ``source`` "config" rows are kept by ``tocsin config
    apply`` (``config_key``: the entry's content, so that applying twice changes nothing)."""

    __tablename__ = "maintenance_window"
    __table_args__ = (CheckConstraint("end_at > start_at", name="end_after_start"),
                      Index("ix_maintenance_window_end_at", "end_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    service: Mapped[str | None] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))  # chat platform, api, cli or config
    config_key: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(200))


class OncallOffer(Base):
    """A shift offered for swapping: ``person_id`` is on call from ``start_at`` to ``end_at`` and would
    hand it over. Taking it sets ``taken_*`` and ``override_id`` (the override that puts the taker on call);
    cancelling sets ``cancelled_at``. Rows stay."""

    __tablename__ = "oncall_offer"
    __table_args__ = (CheckConstraint("end_at > start_at", name="end_after_start"),
                      Index("ix_oncall_offer_schedule_end_at", "schedule", "end_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    taken_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    taken_at: Mapped[datetime | None]
    override_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_override.id", ondelete="RESTRICT"))
    cancelled_at: Mapped[datetime | None]


class OncallOfferEvent(Base):
    """The audit trail of offers: who offered, took or cancelled which, when. Append-only: triggers refuse
    UPDATE and DELETE."""

    __tablename__ = "oncall_offer_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("oncall_offer.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))  # offered | taken | cancelled
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_source: Mapped[str] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]
