"""Duty alerts: rosters, exceptions, how people and areas are reached, each urgent record's ladder and deliveries

Revision ID: 0010_duty
Revises: 0009_wechat_delivery
Create Date: 2026-12-07 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_duty'
down_revision = '0009_wechat_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_duty_shifts_area_day', 'duty_shifts', ['area_code', 'weekday'])
    op.create_index(op.f('ix_duty_shifts_user_id'), 'duty_shifts', ['user_id'])
    op.create_table('duty_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_duty_exceptions_area_span', 'duty_exceptions', ['area_code', 'ends_at'])
    op.create_index(op.f('ix_duty_exceptions_user_id'), 'duty_exceptions', ['user_id'])
    op.create_table('alert_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('area_code', sa.String(length=12), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address_enc', sa.Text(), nullable=False),
    sa.Column('address_hint', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_alert_targets_area_code'), 'alert_targets', ['area_code'])
    op.create_index(op.f('ix_alert_targets_user_id'), 'alert_targets', ['user_id'])
    op.create_table('urgent_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('urgent_record_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=True),
    sa.Column('ladder', sa.Text(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('next_step_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['urgent_record_id'], ['urgent_records.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('urgent_record_id')
    )
    op.create_index('ix_urgent_alerts_due', 'urgent_alerts', ['acknowledged_at', 'next_step_at'])
    op.create_table('alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('via_target_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=20), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['urgent_alerts.id'], ),
    sa.ForeignKeyConstraint(['via_target_id'], ['alert_targets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_id', 'step', 'recipient', name='uq_alert_deliveries_step')
    )
    op.create_index('ix_alert_deliveries_due', 'alert_deliveries', ['status', 'next_attempt_at'])
    op.create_index(op.f('ix_alert_deliveries_alert_id'), 'alert_deliveries', ['alert_id'])


def downgrade() -> None:
    op.drop_table('alert_deliveries')
    op.drop_table('urgent_alerts')
    op.drop_table('alert_targets')
    op.drop_table('duty_exceptions')
    op.drop_table('duty_shifts')
