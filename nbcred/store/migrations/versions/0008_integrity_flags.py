"""integrity flags of a grading (instructors only: gaming attempts the tests met or contained)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('integrity', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.drop_column('integrity')
