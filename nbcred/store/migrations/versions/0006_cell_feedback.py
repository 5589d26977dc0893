"""learner feedback per cell grade (where a test failed and why, never hidden tests)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cell_grades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cell_grades', schema=None) as batch_op:
        batch_op.drop_column('feedback')
