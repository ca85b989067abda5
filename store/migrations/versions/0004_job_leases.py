"""job leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

The lease of a running job's current attempt (``lease_expires_at``, renewed by its worker;
the attempt number, ``attempts``, is the fencing token), and when a queued job was last
published to the broker (``published_at``), so that reconciliation can publish again a job
that no broker message will deliver. The partial index serves reconciliation's scans.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_jobs_status_lease', 'jobs', ['status', 'lease_expires_at'])


def downgrade() -> None:
    op.drop_index('ix_jobs_status_lease', table_name='jobs')
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('published_at')
        batch.drop_column('lease_expires_at')
