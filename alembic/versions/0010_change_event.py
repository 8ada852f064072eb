"""change_event: changes reported through PagerDuty's Change Events API, recorded without paging

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=1024), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('occurred_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_event'))
    )
    op.create_index(op.f('ix_change_event_integration'), 'change_event', ['integration'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_change_event_integration'), table_name='change_event')
    op.drop_table('change_event')
