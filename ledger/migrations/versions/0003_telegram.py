"""committees, transcript, Telegram update ids, outbox; request area; blocked conversations

Revision ID: 0003_telegram
Revises: 0002
Create Date: 2026-11-29 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_telegram'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('committees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('locality_code', sa.String(length=12), nullable=False),
    sa.Column('locality_name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_committees_locality_code', 'committees', ['locality_code'])

    op.create_table('conversation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('text_enc', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_conversation_messages_conversation_id', 'conversation_messages', ['conversation_id'])

    op.create_table('telegram_updates',
    sa.Column('bot_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bot_id', 'update_id')
    )
    op.create_index('ix_telegram_updates_processed_at', 'telegram_updates', ['processed_at'])

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dedupe_key', sa.String(length=80), nullable=True),
    sa.Column('payload_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index('ix_outbox_conversation_id', 'outbox', ['conversation_id'])
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'])

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_code', sa.String(length=12), nullable=True))
    op.execute("UPDATE assistance_requests SET area_code = residence_code")
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.alter_column('area_code', existing_type=sa.String(length=12), nullable=False)
        batch_op.create_index('ix_assistance_requests_area_code', ['area_code'])


def downgrade() -> None:
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_assistance_requests_area_code')
        batch_op.drop_column('area_code')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('blocked_at')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_index('ix_outbox_conversation_id', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_telegram_updates_processed_at', table_name='telegram_updates')
    op.drop_table('telegram_updates')
    op.drop_index('ix_conversation_messages_conversation_id', table_name='conversation_messages')
    op.drop_table('conversation_messages')
    op.drop_index('ix_committees_locality_code', table_name='committees')
    op.drop_table('committees')
