"""lti: LTI 1.3 platforms, deployments, the tool's keys, logins, contexts, links and the score queue

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'lti_platforms',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('issuer', sa.String(500), nullable=False),
        sa.Column('client_id', sa.String(255), nullable=False),
        sa.Column('auth_login_url', sa.Text(), nullable=False),
        sa.Column('auth_token_url', sa.Text(), nullable=False),
        sa.Column('keyset_url', sa.Text(), nullable=False),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.UniqueConstraint('issuer', 'client_id', name='uq_lti_platform'),
    )
    op.create_table(
        'lti_deployments',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('platform_id', sa.Integer(), sa.ForeignKey('lti_platforms.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('deployment_id', sa.String(255), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.UniqueConstraint('platform_id', 'deployment_id', name='uq_lti_deployment'),
    )
    op.create_table(
        'lti_keys',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('kid', sa.String(100), nullable=False, unique=True),
        sa.Column('private_pem', sa.LargeBinary(), nullable=False),
        sa.Column('public_jwk', sa.JSON(), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('retired_at', TZ, nullable=True),
    )
    op.create_table(
        'lti_logins',
        sa.Column('state_hash', sa.String(64), primary_key=True),
        sa.Column('nonce', sa.String(100), nullable=False, unique=True),
        sa.Column('platform_id', sa.Integer(), sa.ForeignKey('lti_platforms.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('expires_at', TZ, nullable=False, index=True),
        sa.Column('used_at', TZ, nullable=True),
    )
    op.create_table(
        'lti_contexts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('platform_id', sa.Integer(), sa.ForeignKey('lti_platforms.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('context_id', sa.String(255), nullable=False),
        sa.Column('title', sa.String(500), nullable=False),
        sa.Column('memberships_url', sa.Text(), nullable=True),
        sa.Column('cohort_id', sa.String(200), nullable=True),
        sa.Column('updated_at', TZ, nullable=False),
        sa.UniqueConstraint('platform_id', 'context_id', name='uq_lti_context'),
    )
    op.create_table(
        'lti_links',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('deployment_pk', sa.Integer(), sa.ForeignKey('lti_deployments.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('context_pk', sa.Integer(), sa.ForeignKey('lti_contexts.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('resource_link_id', sa.String(255), nullable=False),
        sa.Column('title', sa.String(500), nullable=False),
        sa.Column('assessment_id', sa.String(200), nullable=False, index=True),
        sa.Column('lineitem', sa.Text(), nullable=True),
        sa.Column('lineitems', sa.Text(), nullable=True),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('updated_at', TZ, nullable=False),
        sa.UniqueConstraint('deployment_pk', 'resource_link_id', name='uq_lti_link'),
    )
    op.create_table(
        'lti_link_users',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('link_id', sa.Integer(), sa.ForeignKey('lti_links.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('subject', sa.String(255), nullable=False),
        sa.Column('role', sa.String(20), nullable=False),
        sa.Column('launched_at', TZ, nullable=False),
        sa.UniqueConstraint('link_id', 'user_id', name='uq_lti_link_user'),
    )
    op.create_table(
        'lti_scores',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('link_id', sa.Integer(), sa.ForeignKey('lti_links.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('grading_id', sa.Integer(), sa.ForeignKey('gradings.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('dedupe_key', sa.String(300), nullable=False, unique=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False, index=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', TZ, nullable=False),
        sa.Column('claimed_by', sa.String(100), nullable=True),
        sa.Column('lease_until', TZ, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('posted_at', TZ, nullable=True),
    )


def downgrade() -> None:
    for table in ('lti_scores', 'lti_link_users', 'lti_links', 'lti_contexts', 'lti_logins', 'lti_keys',
                  'lti_deployments', 'lti_platforms'):
        op.drop_table(table)
