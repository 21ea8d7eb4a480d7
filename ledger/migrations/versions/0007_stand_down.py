"""an urgent record remembers when the parent said the danger was over (staff still confirm)

Revision ID: 0007_stand_down
Revises: 0006_retention
Create Date: 2026-12-04 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_stand_down'
down_revision = '0006_retention'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('urgent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stood_down_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('urgent_records', schema=None) as batch_op:
        batch_op.drop_column('stood_down_at')
