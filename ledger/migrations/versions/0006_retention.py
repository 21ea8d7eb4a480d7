"""retention and keys: anonymised / kept requests, the daily purge's runs, the data-key check

Revision ID: 0006_retention
Revises: 0005_limits
Create Date: 2026-12-04 10:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_retention'
down_revision = '0005_limits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retention_runs',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('data_key_check',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('canary_enc', sa.Text(), nullable=False),
    sa.Column('canary_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('kept_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('kept_until', sa.Date(), nullable=True))
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_messages_at', ['at'], unique=False)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_updated_at', ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_updated_at')
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_messages_at')
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.drop_column('kept_until')
        batch_op.drop_column('kept_reason')
        batch_op.drop_column('anonymised_at')
    op.drop_table('data_key_check')
    op.drop_table('retention_runs')
