"""index of jobs by last change

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The workers seen lately (``store.fleet.workers``: ``GET /api/v1/workers``, the dashboard's
workers page, ``/metrics``' ``jobprobe_workers_seen``) are those of the running jobs and of the
jobs changed since a moment: with this index PostgreSQL combines the status index and this one
(a bitmap OR) instead of scanning every job (1M jobs: 0.38 s -> 0.08 s with 30,000 running
jobs, bench/web_api.py's data; about a millisecond with a pool's usual few).
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_jobs_updated', 'jobs', ['updated_at'])


def downgrade() -> None:
    op.drop_index('ix_jobs_updated', table_name='jobs')
