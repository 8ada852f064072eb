"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22

Also creates, outside what autogenerate sees: the incident number sequence (PostgreSQL) and the
triggers that keep incident_event append-only on both databases.
"""
from alembic import op
import sqlalchemy as sa
import storage.types
from storage import append_only
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('escalation_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('match', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('repeat', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_policy')),
    sa.UniqueConstraint('name', name=op.f('uq_escalation_policy_name'))
    )
    op.create_table('inbound_receipt',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'key', name=op.f('pk_inbound_receipt'))
    )
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('slack_user_id', sa.String(length=64), nullable=True),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('telegram_started_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_admin', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('email', name=op.f('uq_person_email')),
    sa.UniqueConstraint('slack_user_id', name=op.f('uq_person_slack_user_id')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_person_telegram_user_id'))
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('slack_channel_id', sa.String(length=64), nullable=True),
    sa.Column('telegram_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('telegram_topic_id', sa.Integer(), nullable=True),
    sa.Column('escalation_policy', sa.String(length=100), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('name', name=op.f('uq_team_name'))
    )
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('dedup_key', sa.String(length=500), nullable=True),
    sa.Column('group_key', sa.String(length=1000), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('snoozed_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_policy', sa.String(length=100), nullable=True),
    sa.Column('escalation_level', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('truncated_alerts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint("(status IN ('resolved', 'cancelled')) = (resolved_at IS NOT NULL)", name=op.f('ck_incident_final_has_resolved_at')),
    sa.CheckConstraint("severity IN ('critical', 'high', 'medium', 'low')", name=op.f('ck_incident_severity')),
    sa.CheckConstraint("status <> 'acknowledged' OR acknowledged_at IS NOT NULL", name=op.f('ck_incident_ack_has_time')),
    sa.CheckConstraint("status IN ('open', 'escalating', 'acknowledged', 'resolved', 'cancelled')", name=op.f('ck_incident_status')),
    sa.CheckConstraint('acknowledged_at IS NULL OR acknowledged_at >= created_at', name=op.f('ck_incident_ack_after_create')),
    sa.CheckConstraint('resolved_at IS NULL OR acknowledged_at IS NULL OR resolved_at >= acknowledged_at', name=op.f('ck_incident_resolve_after_ack')),
    sa.CheckConstraint('resolved_at IS NULL OR resolved_at >= created_at', name=op.f('ck_incident_resolve_after_create')),
    sa.CheckConstraint('updated_at >= created_at', name=op.f('ck_incident_update_after_create')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['person.id'], name=op.f('fk_incident_acknowledged_by_id_person')),
    sa.ForeignKeyConstraint(['assignee_id'], ['person.id'], name=op.f('fk_incident_assignee_id_person')),
    sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], name=op.f('fk_incident_created_by_id_person')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['person.id'], name=op.f('fk_incident_resolved_by_id_person')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_incident_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident')),
    sa.UniqueConstraint('number', name=op.f('uq_incident_number'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_team_id'), ['team_id'], unique=False)
        batch_op.create_index('uq_incident_open_dedup_key', ['dedup_key'], unique=True, postgresql_where=sa.text("status IN ('open', 'escalating', 'acknowledged')"), sqlite_where=sa.text("status IN ('open', 'escalating', 'acknowledged')"))

    op.create_table('link_code',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_link_code_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_link_code'))
    )
    op.create_table('membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.CheckConstraint("role IN ('observer', 'stakeholder', 'responder', 'incident_commander', 'team_lead', 'manager', 'admin')", name=op.f('ck_membership_role')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_membership_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_membership_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership')),
    sa.UniqueConstraint('person_id', 'team_id', name=op.f('uq_membership_person_id_team_id'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_team_id'), ['team_id'], unique=False)

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('annotations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('generator_url', sa.Text(), nullable=True),
    sa.Column('occurrence_count', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('last_seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('firing', 'resolved')", name=op.f('ck_alert_status')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at >= starts_at', name=op.f('ck_alert_ends_after_starts')),
    sa.CheckConstraint('occurrence_count >= 1', name=op.f('ck_alert_occurrence_positive')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_alert_incident_id_incident'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sa.UniqueConstraint('incident_id', 'fingerprint', name=op.f('uq_alert_incident_id_fingerprint'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_incident_id'), ['incident_id'], unique=False)

    op.create_table('chat_message_ref',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='card', nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('thread_id', sa.String(length=64), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_chat_message_ref_incident_id_incident'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_chat_message_ref_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_message_ref')),
    sa.UniqueConstraint('platform', 'chat_id', 'message_id', name=op.f('uq_chat_message_ref_platform_chat_id_message_id'))
    )
    with op.batch_alter_table('chat_message_ref', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_message_ref_incident_id'), ['incident_id'], unique=False)

    op.create_table('incident_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_person_id', sa.Integer(), nullable=True),
    sa.Column('actor_source', sa.String(length=32), nullable=False),
    sa.Column('actor_external_id', sa.String(length=200), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_person_id'], ['person.id'], name=op.f('fk_incident_event_actor_person_id_person')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_event_incident_id_incident'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_event'))
    )
    with op.batch_alter_table('incident_event', schema=None) as batch_op:
        batch_op.create_index('ix_incident_event_incident_id_at', ['incident_id', 'at'], unique=False)

    _create_extras()


def downgrade() -> None:
    _drop_extras()
    with op.batch_alter_table('incident_event', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_event_incident_id_at')

    op.drop_table('incident_event')
    with op.batch_alter_table('chat_message_ref', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_message_ref_incident_id'))

    op.drop_table('chat_message_ref')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_incident_id'))
        batch_op.drop_index(batch_op.f('ix_alert_fingerprint'))

    op.drop_table('alert')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_team_id'))

    op.drop_table('membership')
    op.drop_table('link_code')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('uq_incident_open_dedup_key', postgresql_where=sa.text("status IN ('open', 'escalating', 'acknowledged')"), sqlite_where=sa.text("status IN ('open', 'escalating', 'acknowledged')"))
        batch_op.drop_index(batch_op.f('ix_incident_team_id'))
        batch_op.drop_index('ix_incident_status_created_at')

    op.drop_table('incident')
    op.drop_table('team')
    op.drop_table('person')
    op.drop_table('inbound_receipt')
    op.drop_table('escalation_policy')


APPEND_ONLY = "incident_event is append-only: timeline rows are never updated or deleted"


def _create_extras() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE incident_number_seq START 1")
    append_only.create("incident_event", APPEND_ONLY)


def _drop_extras() -> None:
    append_only.drop("incident_event")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS incident_number_seq")
