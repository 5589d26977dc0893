"""assessment archives: every assessment version that has submissions keeps its files

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'assessment_archives',
        sa.Column('fingerprint', sa.String(64), primary_key=True),
        sa.Column('assessment_id', sa.String(200), nullable=False, index=True),
        sa.Column('version', sa.String(50), nullable=False),
        sa.Column('archive', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('assessment_archives')
