"""extensions: extra attempts and later due dates granted per learner and assessment

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'extensions',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('learner_id', sa.String(200), sa.ForeignKey('learners.id'), nullable=False),
        sa.Column('assessment_id', sa.String(200), nullable=False),
        sa.Column('extra_attempts', sa.Integer(), nullable=False),
        sa.Column('due_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('granted_by', sa.String(320), nullable=False),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('learner_id', 'assessment_id', name='uq_extensions_learner'),
    )


def downgrade() -> None:
    op.drop_table('extensions')
