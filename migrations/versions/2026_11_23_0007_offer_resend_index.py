"""offers: partial index for the scheduler's resend sweep (DMs Slack refused for a while)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

UNSENT = "ts IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    op.create_index('ix_offers_unsent', 'offers', ['sending_until'], unique=False,
                    postgresql_where=sa.text(UNSENT), sqlite_where=sa.text(UNSENT))


def downgrade() -> None:
    op.drop_index('ix_offers_unsent', table_name='offers', postgresql_where=sa.text(UNSENT),
                  sqlite_where=sa.text(UNSENT))
