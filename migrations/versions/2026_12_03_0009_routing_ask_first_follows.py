"""routing by availability (ladder timezone), ask-first, the next meeting a request follows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 21:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ladder_tz', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ask_first_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ask_first_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('follows_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_requests_ask_first_id_people'), 'people', ['ask_first_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_requests_follows_id_requests'), 'requests', ['follows_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_requests_follows_id_requests'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_requests_ask_first_id_people'), type_='foreignkey')
        for column in ('follows_id', 'ask_first_until', 'ask_first_id', 'ladder_tz'):
            batch_op.drop_column(column)
