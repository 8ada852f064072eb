"""escalation ledger, notification outbox, preferences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Also creates, outside what autogenerate sees: triggers that refuse DELETE on escalation_step (the
ledger is never deleted from) on both databases.
"""
from alembic import op
import sqlalchemy as sa
import storage.types
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_preference',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('channels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notification_preference_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_notification_preference'))
    )
    op.create_table('escalation_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=100), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('scheduled_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='PENDING', nullable=False),
    sa.Column('executed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('late_by_seconds', sa.Float(), nullable=True),
    sa.Column('executed_by', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status <> 'EXECUTED' OR executed_at IS NOT NULL", name=op.f('ck_escalation_step_executed_has_time')),
    sa.CheckConstraint("status IN ('PENDING', 'EXECUTED', 'CANCELLED', 'SKIPPED', 'FAILED')", name=op.f('ck_escalation_step_status')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_escalation_step_incident_id_incident'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_step')),
    sa.UniqueConstraint('incident_id', 'repeat', 'step', name=op.f('uq_escalation_step_incident_id_repeat_step'))
    )
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_step_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_escalation_step_status_due_at', ['status', 'due_at'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('topic', sa.BigInteger(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='PENDING', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('thread', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('page', 'notice')", name=op.f('ck_notification_kind')),
    sa.CheckConstraint("status IN ('PENDING', 'SENT', 'FAILED', 'CANCELLED')", name=op.f('ck_notification_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notification_attempts_not_negative')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_notification_incident_id_incident'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['parent_id'], ['notification.id'], name=op.f('fk_notification_parent_id_notification'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notification_person_id_person')),
    sa.ForeignKeyConstraint(['step_id'], ['escalation_step.id'], name=op.f('fk_notification_step_id_escalation_step'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('incident_id', 'reason', 'target', 'channel', name=op.f('uq_notification_incident_id_reason_target_channel'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_notification_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    _create_extras()


def downgrade() -> None:
    _drop_extras()
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_notification_person_id'))
        batch_op.drop_index(batch_op.f('ix_notification_incident_id'))

    op.drop_table('notification')
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_step_status_due_at')
        batch_op.drop_index(batch_op.f('ix_escalation_step_incident_id'))

    op.drop_table('escalation_step')
    op.drop_table('notification_preference')


NEVER_DELETED = 'escalation_step rows are never deleted; mark them CANCELLED'


def _create_extras() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION escalation_step_no_delete() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{NEVER_DELETED}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER escalation_step_no_delete BEFORE DELETE ON escalation_step "
            "FOR EACH ROW EXECUTE FUNCTION escalation_step_no_delete()"
        )
    else:
        op.execute(
            "CREATE TRIGGER escalation_step_no_delete BEFORE DELETE ON escalation_step "
            f"BEGIN SELECT RAISE(ABORT, '{NEVER_DELETED}'); END"
        )


def _drop_extras() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS escalation_step_no_delete ON escalation_step")
        op.execute("DROP FUNCTION IF EXISTS escalation_step_no_delete()")
    else:
        op.execute("DROP TRIGGER IF EXISTS escalation_step_no_delete")
