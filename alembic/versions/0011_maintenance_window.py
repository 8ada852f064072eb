"""maintenance_window: windows in which matching alerts are recorded but page nobody (docs/noise.md)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import storage.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('maintenance_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('labels', storage.types.JSONDoc, nullable=False),
    sa.Column('start_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('config_key', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=200), nullable=True),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_maintenance_window_end_after_start')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_maintenance_window_team_id_team'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_window'))
    )
    op.create_index('ix_maintenance_window_end_at', 'maintenance_window', ['end_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_maintenance_window_end_at', table_name='maintenance_window')
    op.drop_table('maintenance_window')
