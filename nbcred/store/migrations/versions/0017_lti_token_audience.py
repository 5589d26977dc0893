"""lti token audience: the aud a platform wants in client assertions (Brightspace names its own)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('lti_platforms', sa.Column('token_audience', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lti_platforms') as batch:
        batch.drop_column('token_audience')
