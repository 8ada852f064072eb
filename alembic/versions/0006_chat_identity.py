"""chat_identity and chat_binding: people's chat accounts and teams' chats, keyed by platform

The six platform columns of person and team move into rows and go; notification.topic becomes a string
(a binding's thread). Downgrade moves the Slack and Telegram rows back into the columns; rows of other
platforms have no column to go to and are dropped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('reachable_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_chat_identity_person_id_person'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_identity')),
    sa.UniqueConstraint('person_id', 'platform', name=op.f('uq_chat_identity_person_id_platform')),
    sa.UniqueConstraint('platform', 'external_id', name=op.f('uq_chat_identity_platform_external_id'))
    )
    op.create_table('chat_binding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('chat', sa.String(length=64), nullable=False),
    sa.Column('thread', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_chat_binding_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_binding')),
    sa.UniqueConstraint('team_id', 'platform', name=op.f('uq_chat_binding_team_id_platform'))
    )
    # A Slack account could always be written to: reachable since the person's row (when it was linked is
    # not recorded). A Telegram account since its owner started the bot.
    op.execute("INSERT INTO chat_identity (person_id, platform, external_id, reachable_at) "
               "SELECT id, 'slack', slack_user_id, created_at FROM person WHERE slack_user_id IS NOT NULL")
    op.execute("INSERT INTO chat_identity (person_id, platform, external_id, reachable_at) "
               "SELECT id, 'telegram', CAST(telegram_user_id AS VARCHAR(200)), telegram_started_at FROM person "
               "WHERE telegram_user_id IS NOT NULL")
    op.execute("INSERT INTO chat_binding (team_id, platform, chat, thread) "
               "SELECT id, 'slack', slack_channel_id, NULL FROM team WHERE slack_channel_id IS NOT NULL")
    op.execute("INSERT INTO chat_binding (team_id, platform, chat, thread) "
               "SELECT id, 'telegram', CAST(telegram_chat_id AS VARCHAR(64)), CAST(telegram_topic_id AS VARCHAR(64)) "
               "FROM team WHERE telegram_chat_id IS NOT NULL")
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint('uq_person_slack_user_id', type_='unique')
        batch_op.drop_constraint('uq_person_telegram_user_id', type_='unique')
        batch_op.drop_column('slack_user_id')
        batch_op.drop_column('telegram_user_id')
        batch_op.drop_column('telegram_started_at')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_column('slack_channel_id')
        batch_op.drop_column('telegram_chat_id')
        batch_op.drop_column('telegram_topic_id')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('topic', existing_type=sa.BigInteger(), type_=sa.String(length=64),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('topic', existing_type=sa.String(length=64), type_=sa.BigInteger(),
                              existing_nullable=True, postgresql_using='topic::bigint')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slack_channel_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('telegram_chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('telegram_topic_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slack_user_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('telegram_user_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('telegram_started_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(op.f('uq_person_slack_user_id'), ['slack_user_id'])
        batch_op.create_unique_constraint(op.f('uq_person_telegram_user_id'), ['telegram_user_id'])
    op.execute("UPDATE person SET slack_user_id = (SELECT external_id FROM chat_identity i "
               "WHERE i.person_id = person.id AND i.platform = 'slack')")
    op.execute("UPDATE person SET telegram_user_id = (SELECT CAST(external_id AS BIGINT) FROM chat_identity i "
               "WHERE i.person_id = person.id AND i.platform = 'telegram'), "
               "telegram_started_at = (SELECT reachable_at FROM chat_identity i "
               "WHERE i.person_id = person.id AND i.platform = 'telegram')")
    op.execute("UPDATE team SET slack_channel_id = (SELECT chat FROM chat_binding b "
               "WHERE b.team_id = team.id AND b.platform = 'slack')")
    op.execute("UPDATE team SET telegram_chat_id = (SELECT CAST(chat AS BIGINT) FROM chat_binding b "
               "WHERE b.team_id = team.id AND b.platform = 'telegram'), "
               "telegram_topic_id = (SELECT CAST(thread AS INTEGER) FROM chat_binding b "
               "WHERE b.team_id = team.id AND b.platform = 'telegram')")
    op.drop_table('chat_binding')
    op.drop_table('chat_identity')
