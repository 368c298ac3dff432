"""leases with owners, offer send leases, claims after a decline, attendees as typed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:47:02.766747
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendees_text', sa.Text(), nullable=True))

    with op.batch_alter_table('due_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sending_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    # Claims so far were always first responses.
    op.execute("UPDATE offers SET claimed_at = responded_at WHERE response = 'claim'")


def downgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('sending_until')

    with op.batch_alter_table('due_notices', schema=None) as batch_op:
        batch_op.drop_column('lease_token')

    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.drop_column('attendees_text')

