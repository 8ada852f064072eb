"""inbound_delivery: chat deliveries kept until processed, retried, or dead and waiting for a replay

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.types
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_inbound_delivery_attempts_not_negative')),
    sa.CheckConstraint("status IN ('pending', 'done', 'failed', 'dead')", name=op.f('ck_inbound_delivery_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_delivery')),
    sa.UniqueConstraint('platform', 'key', name=op.f('uq_inbound_delivery_platform_key'))
    )
    with op.batch_alter_table('inbound_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_delivery_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_delivery_status_next_attempt_at')
    op.drop_table('inbound_delivery')
