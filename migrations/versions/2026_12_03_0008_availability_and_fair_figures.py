"""availability (working hours, out of office, DND) and fair response figures

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 21:00:00

Responses recorded before this revision keep their wall-clock time as their working time
(nothing says when those experts were working); new ones are measured in working time.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_days', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('work_start', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('work_end', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('out_of_office', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ooo_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_text', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('status_emoji', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('dnd_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('availability_checked_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('response_work_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('excused', sa.Boolean(), server_default='0', nullable=False))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        elapsed = "(EXTRACT(EPOCH FROM (responded_at - sent_at)) * 1000)::bigint"
    else:
        elapsed = "CAST((julianday(responded_at) - julianday(sent_at)) * 86400000 AS INTEGER)"
    op.execute(f"UPDATE offers SET response_ms = {elapsed}, response_work_ms = {elapsed} "
               "WHERE responded_at IS NOT NULL AND sent_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('excused')
        batch_op.drop_column('response_work_ms')
        batch_op.drop_column('response_ms')
    with op.batch_alter_table('people', schema=None) as batch_op:
        for column in ('availability_checked_at', 'dnd_until', 'status_emoji', 'status_text', 'ooo_until',
                       'out_of_office', 'work_end', 'work_start', 'work_days'):
            batch_op.drop_column(column)
