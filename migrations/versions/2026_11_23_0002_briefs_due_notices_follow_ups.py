"""briefs, due notices, follow-ups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:19:24.997798
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('briefs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('show', sa.Text(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('decision_by', sa.Date(), nullable=False),
    sa.Column('call_to_action', sa.Text(), nullable=True),
    sa.Column('competitors', sa.Text(), nullable=True),
    sa.Column('links', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_briefs_request_id_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['people.id'], name=op.f('fk_briefs_updated_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefs')),
    sa.UniqueConstraint('request_id', name=op.f('uq_briefs_request_id'))
    )
    op.create_table('due_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('slack_channel', sa.String(length=32), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recipient_id'], ['people.id'], name=op.f('fk_due_notices_recipient_id_people')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_due_notices_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_due_notices')),
    sa.UniqueConstraint('request_id', 'kind', 'recipient_id', 'slot', name=op.f('uq_due_notices_request_id_kind_recipient_id_slot'))
    )
    with op.batch_alter_table('due_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_due_notices_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_due_notices_state_due', ['state', 'due_at'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('decision_made', sa.String(length=8), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('new_date', sa.Date(), nullable=True),
    sa.Column('prep_hours', sa.Numeric(precision=6, scale=2, asdecimal=False), nullable=True),
    sa.Column('meeting_hours', sa.Numeric(precision=6, scale=2, asdecimal=False), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_followups_person_id_people')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_followups_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups')),
    sa.UniqueConstraint('request_id', 'person_id', name=op.f('uq_followups_request_id_person_id'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_request_id'), ['request_id'], unique=False)

    op.create_table('brief_attendees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['brief_id'], ['briefs.id'], name=op.f('fk_brief_attendees_brief_id_briefs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brief_attendees'))
    )
    with op.batch_alter_table('brief_attendees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brief_attendees_brief_id'), ['brief_id'], unique=False)

    op.create_table('brief_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['brief_id'], ['briefs.id'], name=op.f('fk_brief_edits_brief_id_briefs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['editor_id'], ['people.id'], name=op.f('fk_brief_edits_editor_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brief_edits'))
    )
    with op.batch_alter_table('brief_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brief_edits_brief_id'), ['brief_id'], unique=False)

    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_brief', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_minute', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ladder_from', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('ladder_from')
        batch_op.drop_column('last_minute')
        batch_op.drop_column('needs_brief')

    with op.batch_alter_table('brief_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brief_edits_brief_id'))

    op.drop_table('brief_edits')
    with op.batch_alter_table('brief_attendees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brief_attendees_brief_id'))

    op.drop_table('brief_attendees')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_request_id'))

    op.drop_table('followups')
    with op.batch_alter_table('due_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_due_notices_state_due')
        batch_op.drop_index(batch_op.f('ix_due_notices_request_id'))

    op.drop_table('due_notices')
    op.drop_table('briefs')
