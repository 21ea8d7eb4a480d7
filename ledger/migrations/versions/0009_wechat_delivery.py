"""WeChat: how each outbox message went (passive, customer-service, template), committees' QR codes

Revision ID: 0009_wechat_delivery
Revises: 0008_wechat
Create Date: 2026-12-07 03:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_wechat_delivery'
down_revision = '0008_wechat'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('delivered_via', sa.String(length=16), nullable=True))
    op.create_table('wechat_qrcodes',
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('scene', sa.String(length=64), nullable=False),
    sa.Column('ticket', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app_id', 'scene')
    )


def downgrade() -> None:
    op.drop_table('wechat_qrcodes')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('delivered_via')
