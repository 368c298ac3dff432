"""scheduler heartbeats

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:46:19.873634
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduler_heartbeats',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('host', sa.String(length=64), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_heartbeats'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_heartbeats')
