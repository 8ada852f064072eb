"""calendar_feed: the secret tokens of the on-call iCalendar feeds (one per schedule or person)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import storage.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=320), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('schedule', 'person')", name=op.f('ck_calendar_feed_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feed')),
    sa.UniqueConstraint('kind', 'subject', name=op.f('uq_calendar_feed_kind_subject')),
    sa.UniqueConstraint('token', name=op.f('uq_calendar_feed_token'))
    )


def downgrade() -> None:
    op.drop_table('calendar_feed')
