"""job resource limits and containment

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A job's limits (memory bytes, CPUs, tasks) asked at submit and applied through its control
group, and how the job was contained and counted (``containment``: accounting method, leaked
processes, whether the limits were applied, the group's own figures).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('mem_limit_bytes', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('cpu_limit', sa.Float(), nullable=True))
        batch.add_column(sa.Column('max_procs', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('containment', JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('containment')
        batch.drop_column('max_procs')
        batch.drop_column('cpu_limit')
        batch.drop_column('mem_limit_bytes')
