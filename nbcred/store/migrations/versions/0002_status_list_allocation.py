"""status list allocation bitmap; one credential per status list index

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocation', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_credentials_status_slot', ['status_list', 'status_index']
        )


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint('uq_credentials_status_slot', type_='unique')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_column('allocation')
