"""staff review app: accounts, sessions, login failures, drafts, case notes, staged uploads;
queue indexes on assistance_requests

Revision ID: 0004_staff
Revises: 0003_telegram
Create Date: 2026-11-29 21:12:36.924937
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_staff'
down_revision = '0003_telegram'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('note_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('written_by', sa.String(length=64), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_case_notes', schema=None) as batch_op:
        batch_op.create_index('ix_staff_case_notes_target', ['target_kind', 'target_id'], unique=False)

    op.create_table('staff_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_staff_login_failures_key_at', ['key', 'at'], unique=False)

    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_users_username'), ['username'], unique=True)

    op.create_table('staff_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=300), nullable=False),
    sa.Column('fields_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_drafts_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_drafts_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_staff_drafts_user_id'), ['user_id'], unique=False)

    op.create_table('staff_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('client_ip', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_sessions_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_staff_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('staff_staged_checklists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_staged_checklists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_staged_checklists_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_staff_staged_checklists_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.create_index('ix_assistance_requests_area_created', ['area_code', 'created_at'], unique=False)
        batch_op.create_index('ix_assistance_requests_status_created', ['status', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_assistance_requests_status_created')
        batch_op.drop_index('ix_assistance_requests_area_created')

    with op.batch_alter_table('staff_staged_checklists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_staged_checklists_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_staged_checklists_token_hash'))

    op.drop_table('staff_staged_checklists')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_sessions_token_hash'))
        batch_op.drop_index(batch_op.f('ix_staff_sessions_expires_at'))

    op.drop_table('staff_sessions')
    with op.batch_alter_table('staff_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_drafts_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_drafts_token_hash'))
        batch_op.drop_index(batch_op.f('ix_staff_drafts_expires_at'))

    op.drop_table('staff_drafts')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_users_username'))

    op.drop_table('staff_users')
    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_login_failures_key_at')

    op.drop_table('staff_login_failures')
    with op.batch_alter_table('staff_case_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_case_notes_target')

    op.drop_table('staff_case_notes')
