"""weekly digests, home seen

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:36:15.447340
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('slack_channel', sa.String(length=32), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['manager_id'], ['people.id'], name=op.f('fk_digests_manager_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('manager_id', 'week', name=op.f('uq_digests_manager_id_week'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_seen_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_team_created', ['team_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_team_created')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('home_seen_at')

    op.drop_table('digests')
