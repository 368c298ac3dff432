"""core: people, skills, requests, offers

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 12:53:02.145388
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('tz', sa.String(length=64), nullable=True),
    sa.Column('tz_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_manager', sa.Boolean(), nullable=False),
    sa.Column('is_expert', sa.Boolean(), nullable=False),
    sa.Column('max_concurrent', sa.Integer(), nullable=False),
    sa.Column('away_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('away_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('team_id', 'slack_user_id', name=op.f('uq_people_team_id_slack_user_id'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_is_expert'), ['is_expert'], unique=False)

    op.create_table('skills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skills')),
    sa.UniqueConstraint('name', name=op.f('uq_skills_name'))
    )
    op.create_table('expert_skills',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('skill_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_expert_skills_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_expert_skills_skill_id_skills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'skill_id', name=op.f('pk_expert_skills'))
    )
    with op.batch_alter_table('expert_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_skills_skill_id'), ['skill_id'], unique=False)

    op.create_table('requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('account', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('crm_url', sa.String(length=500), nullable=True),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('meeting_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_min', sa.Integer(), nullable=True),
    sa.Column('needed_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('broadcast_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_channel', sa.String(length=32), nullable=True),
    sa.Column('status_ts', sa.String(length=32), nullable=True),
    sa.Column('status_error', sa.String(length=64), nullable=True),
    sa.Column('experts_post_channel', sa.String(length=32), nullable=True),
    sa.Column('experts_post_ts', sa.String(length=32), nullable=True),
    sa.Column('source_key', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['people.id'], name=op.f('fk_requests_cancelled_by_id_people')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['people.id'], name=op.f('fk_requests_claimed_by_id_people')),
    sa.ForeignKeyConstraint(['requester_id'], ['people.id'], name=op.f('fk_requests_requester_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requests')),
    sa.UniqueConstraint('source_key', name=op.f('uq_requests_source_key'))
    )
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_claimed_by_status', ['claimed_by_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_requests_status_created', ['status', 'created_at'], unique=False)

    op.create_table('offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('channel_id', sa.String(length=32), nullable=True),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response', sa.String(length=16), nullable=True),
    sa.Column('decline_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['expert_id'], ['people.id'], name=op.f('fk_offers_expert_id_people')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_offers_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers')),
    sa.UniqueConstraint('request_id', 'expert_id', name=op.f('uq_offers_request_id_expert_id'))
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index('ix_offers_expert_sent', ['expert_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_offers_sent_at', ['sent_at'], unique=False)

    op.create_table('request_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_request_events_actor_id_people')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_request_events_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_events'))
    )
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_events_request_id'), ['request_id'], unique=False)

    op.create_table('request_skills',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('skill_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_request_skills_request_id_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_request_skills_skill_id_skills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'skill_id', name=op.f('pk_request_skills'))
    )
    with op.batch_alter_table('request_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_skills_skill_id'), ['skill_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('request_skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_skills_skill_id'))

    op.drop_table('request_skills')
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_events_request_id'))

    op.drop_table('request_events')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index('ix_offers_sent_at')
        batch_op.drop_index('ix_offers_expert_sent')

    op.drop_table('offers')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_status_created')
        batch_op.drop_index(batch_op.f('ix_requests_requester_id'))
        batch_op.drop_index('ix_requests_claimed_by_status')

    op.drop_table('requests')
    with op.batch_alter_table('expert_skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_skills_skill_id'))

    op.drop_table('expert_skills')
    op.drop_table('skills')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_is_expert'))

    op.drop_table('people')
