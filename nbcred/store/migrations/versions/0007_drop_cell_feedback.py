"""drop cell_grades.feedback: a grading's learner feedback lives in gradings.tests (0005)

0006 and 0005 landed together; both stored the per-test feedback. One copy is kept.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cell_grades', schema=None) as batch_op:
        batch_op.drop_column('feedback')


def downgrade() -> None:
    with op.batch_alter_table('cell_grades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback', sa.JSON(), nullable=True))
