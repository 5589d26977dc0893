"""web service: users, API tokens, sign-in failures, the web submission queue

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('email', sa.String(320), nullable=False, unique=True),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('role', sa.String(20), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=True),
        sa.Column('learner_id', sa.String(200), sa.ForeignKey('learners.id'), nullable=False, unique=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False, index=True),
        sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('label', sa.String(200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'signin_failures',
        sa.Column('key', sa.String(320), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'web_submissions',
        sa.Column('id', sa.String(40), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False, index=True),
        sa.Column('learner_id', sa.String(200), sa.ForeignKey('learners.id'), nullable=False, index=True),
        sa.Column('assessment_id', sa.String(200), nullable=False, index=True),
        sa.Column('assessment_version', sa.String(50), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.Column('content_hash', sa.String(64), nullable=False),
        sa.Column('upload_path', sa.Text(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False, index=True),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(100), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('grading_id', sa.Integer(), sa.ForeignKey('gradings.id'), nullable=True),
        sa.Column('credential_id', sa.String(100), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('web_submissions')
    op.drop_table('signin_failures')
    op.drop_table('api_tokens')
    op.drop_table('users')
