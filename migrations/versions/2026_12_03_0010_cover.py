"""covers: a claimer asks the other experts to take over

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'covers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('asked_by_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('taken_by_id', sa.Integer(), nullable=True),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['asked_by_id'], ['people.id'], name=op.f('fk_covers_asked_by_id_people')),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_covers_request_id_requests'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['taken_by_id'], ['people.id'], name=op.f('fk_covers_taken_by_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_covers')),
    )
    op.create_index(op.f('ix_covers_request_id'), 'covers', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_covers_request_id'), table_name='covers')
    op.drop_table('covers')
