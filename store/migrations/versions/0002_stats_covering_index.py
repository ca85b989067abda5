"""covering index for job-stats by tool

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

``job-stats`` reads every job of the filter. Grouped by tool, PostgreSQL walks the jobs in tool
order; with the aggregated columns in the index that walk is an index-only scan instead of a
million random heap reads (1M jobs: 2.8 s -> 0.45 s, bench/history_million.py).
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

STATS_COLUMNS = ['status', 'duration_s', 'cpu_total_s', 'memory_peak_mb', 'queue_wait_s']


def upgrade() -> None:
    op.create_index('ix_jobs_tool_stats', 'jobs', ['tool'], postgresql_include=STATS_COLUMNS)


def downgrade() -> None:
    op.drop_index('ix_jobs_tool_stats', table_name='jobs')
