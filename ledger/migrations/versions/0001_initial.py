"""conversations, handoff requests, urgent records

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 18:48:05.928193
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_hash', sa.String(length=64), nullable=False),
    sa.Column('sender_enc', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('state_enc', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_sender_hash'), ['sender_hash'], unique=True)

    op.create_table('handoff_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('locality', sa.String(length=12), nullable=True),
    sa.Column('reason_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_requests_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_requests_locality'), ['locality'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_requests_status'), ['status'], unique=False)

    op.create_table('urgent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('locality', sa.String(length=12), nullable=True),
    sa.Column('kinds', sa.String(length=200), nullable=False),
    sa.Column('detected_by', sa.String(length=32), nullable=False),
    sa.Column('message_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('urgent_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_urgent_records_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_urgent_records_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_urgent_records_locality'), ['locality'], unique=False)
        batch_op.create_index(batch_op.f('ix_urgent_records_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('urgent_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_urgent_records_status'))
        batch_op.drop_index(batch_op.f('ix_urgent_records_locality'))
        batch_op.drop_index(batch_op.f('ix_urgent_records_created_at'))
        batch_op.drop_index(batch_op.f('ix_urgent_records_conversation_id'))

    op.drop_table('urgent_records')
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_requests_status'))
        batch_op.drop_index(batch_op.f('ix_handoff_requests_locality'))
        batch_op.drop_index(batch_op.f('ix_handoff_requests_created_at'))
        batch_op.drop_index(batch_op.f('ix_handoff_requests_conversation_id'))

    op.drop_table('handoff_requests')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_sender_hash'))

    op.drop_table('conversations')
