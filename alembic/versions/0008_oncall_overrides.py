"""oncall_override and oncall_override_event: on-call overrides and their append-only audit trail

Also creates triggers that refuse UPDATE and DELETE on oncall_override_event, on both databases.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import storage.types
from storage import append_only

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

APPEND_ONLY = "oncall_override_event is append-only: audit rows are never updated or deleted"


def upgrade() -> None:
    op.create_table('oncall_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('for_person_id', sa.Integer(), nullable=True),
    sa.Column('start_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_oncall_override_end_after_start')),
    sa.ForeignKeyConstraint(['for_person_id'], ['person.id'], name=op.f('fk_oncall_override_for_person_id_person'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_oncall_override_person_id_person'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_override'))
    )
    op.create_index('ix_oncall_override_schedule_end_at', 'oncall_override', ['schedule', 'end_at'], unique=False)
    op.create_table('oncall_override_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('override_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_person_id', sa.Integer(), nullable=True),
    sa.Column('actor_source', sa.String(length=32), nullable=False),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('data', storage.types.JSONDoc, nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_person_id'], ['person.id'],
                            name=op.f('fk_oncall_override_event_actor_person_id_person')),
    sa.ForeignKeyConstraint(['override_id'], ['oncall_override.id'],
                            name=op.f('fk_oncall_override_event_override_id_oncall_override'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_override_event'))
    )
    append_only.create('oncall_override_event', APPEND_ONLY)


def downgrade() -> None:
    append_only.drop('oncall_override_event')
    op.drop_table('oncall_override_event')
    op.drop_index('ix_oncall_override_schedule_end_at', table_name='oncall_override')
    op.drop_table('oncall_override')
