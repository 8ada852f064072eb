"""oncall_offer and oncall_offer_event: shifts offered for swapping, and their append-only audit trail;
notification rows of kind 'oncall' without an incident (handoff notices and shift reminders)

A person offers a shift (or a lead offers it for them); another person of the team takes it, which makes an
oncall_override (its own audit row too). Triggers refuse UPDATE and DELETE on oncall_offer_event, on both
databases.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import storage.types
from storage import append_only

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

APPEND_ONLY = "oncall_offer_event is append-only: audit rows are never updated or deleted"


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(op.f('ck_notification_kind'), type_='check')
        batch_op.create_check_constraint('kind', "kind IN ('page', 'notice', 'oncall')")
    op.create_table('oncall_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('start_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_by_person_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('override_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_oncall_offer_end_after_start')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_oncall_offer_person_id_person'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['taken_by_person_id'], ['person.id'],
                            name=op.f('fk_oncall_offer_taken_by_person_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['override_id'], ['oncall_override.id'],
                            name=op.f('fk_oncall_offer_override_id_oncall_override'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_offer'))
    )
    op.create_index('ix_oncall_offer_schedule_end_at', 'oncall_offer', ['schedule', 'end_at'], unique=False)
    op.create_table('oncall_offer_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_person_id', sa.Integer(), nullable=True),
    sa.Column('actor_source', sa.String(length=32), nullable=False),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('data', storage.types.JSONDoc, nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_person_id'], ['person.id'],
                            name=op.f('fk_oncall_offer_event_actor_person_id_person')),
    sa.ForeignKeyConstraint(['offer_id'], ['oncall_offer.id'],
                            name=op.f('fk_oncall_offer_event_offer_id_oncall_offer'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_offer_event'))
    )
    append_only.create('oncall_offer_event', APPEND_ONLY)


def downgrade() -> None:
    append_only.drop('oncall_offer_event')
    op.drop_table('oncall_offer_event')
    op.drop_index('ix_oncall_offer_schedule_end_at', table_name='oncall_offer')
    op.drop_table('oncall_offer')
    op.execute("DELETE FROM notification WHERE kind = 'oncall' OR incident_id IS NULL")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_kind'), type_='check')
        batch_op.create_check_constraint('kind', "kind IN ('page', 'notice')")
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=False)
