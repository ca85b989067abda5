"""conversations

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The conversations of ``jobprobe ask`` (chat sessions): one row per session with its turns
(question, answer, tool calls and their compact results) and the entities in context, as JSON.
The index on ``updated_at`` serves expiry.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'conversations',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('turns', _json(), nullable=False),
        sa.Column('context', _json(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    )
    op.create_index('ix_conversations_updated', 'conversations', ['updated_at'])


def downgrade() -> None:
    op.drop_index('ix_conversations_updated', table_name='conversations')
    op.drop_table('conversations')
