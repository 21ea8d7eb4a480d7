"""assistance requests, ledger, visits, status history, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 19:33:09.196541
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=80), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('assistance_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('referral', sa.String(length=64), nullable=True),
    sa.Column('child_name_enc', sa.Text(), nullable=False),
    sa.Column('child_key_hash', sa.String(length=64), nullable=False),
    sa.Column('child_age', sa.Integer(), nullable=False),
    sa.Column('hukou_code', sa.String(length=12), nullable=False),
    sa.Column('hukou_name', sa.String(length=100), nullable=False),
    sa.Column('residence_code', sa.String(length=12), nullable=False),
    sa.Column('residence_name', sa.String(length=100), nullable=False),
    sa.Column('residence_detail_enc', sa.Text(), nullable=False),
    sa.Column('months_at_residence', sa.Double(), nullable=False),
    sa.Column('guardian_name_enc', sa.Text(), nullable=False),
    sa.Column('guardian_relation', sa.String(length=20), nullable=False),
    sa.Column('guardian_phone_enc', sa.Text(), nullable=False),
    sa.Column('guardian_phone_hash', sa.String(length=64), nullable=False),
    sa.Column('situations', sa.String(length=200), nullable=False),
    sa.Column('description_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('consent_notice_version', sa.String(length=20), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('deletion_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['assistance_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assistance_requests_child_key_hash'), ['child_key_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_guardian_phone_hash'), ['guardian_phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_reference'), ['reference'], unique=True)
        batch_op.create_index(batch_op.f('ix_assistance_requests_referral'), ['referral'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_residence_code'), ['residence_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_urgency'), ['urgency'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('locality', sa.String(length=12), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_visit_on', sa.Date(), nullable=True),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_locality'), ['locality'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_next_review_on'), ['next_review_on'], unique=False)

    op.create_table('status_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_history_request_id'), ['request_id'], unique=False)

    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('findings_enc', sa.Text(), nullable=False),
    sa.Column('next_visit_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_entry_id'), ['entry_id'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deletion_requested_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('deletion_requested_at')

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_entry_id'))

    op.drop_table('visits')
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_history_request_id'))

    op.drop_table('status_history')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_next_review_on'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_locality'))

    op.drop_table('ledger_entries')
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assistance_requests_urgency'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_status'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_residence_code'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_referral'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_reference'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_guardian_phone_hash'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_created_at'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_child_key_hash'))

    op.drop_table('assistance_requests')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
