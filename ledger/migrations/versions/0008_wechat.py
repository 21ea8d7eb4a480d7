"""WeChat: callbacks already processed, the shared API access token

Revision ID: 0008_wechat
Revises: 0007_stand_down
Create Date: 2026-12-07 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_wechat'
down_revision = '0007_stand_down'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_messages',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_hash')
    )
    op.create_index('ix_wechat_messages_processed_at', 'wechat_messages', ['processed_at'])
    op.create_table('wechat_tokens',
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('token_enc', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app_id')
    )


def downgrade() -> None:
    op.drop_table('wechat_tokens')
    op.drop_index('ix_wechat_messages_processed_at', table_name='wechat_messages')
    op.drop_table('wechat_messages')
