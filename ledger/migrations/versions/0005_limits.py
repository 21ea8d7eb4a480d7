"""public-route limits: rate counters shared by all workers; an urgent record counts the
repeats of its conversation's emergency instead of one record per message

Revision ID: 0005_limits
Revises: 0004_staff
Create Date: 2026-12-04 09:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_limits'
down_revision = '0004_staff'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_counters',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', 'window_start')
    )
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.create_index('ix_rate_counters_window_start', ['window_start'], unique=False)
    with op.batch_alter_table('urgent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeats', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('urgent_records', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('repeats')
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_counters_window_start')
    op.drop_table('rate_counters')
