"""shared storage: content-addressed blobs in chunks, and names pointing at them

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'storage_blobs',
        sa.Column('digest', sa.String(64), primary_key=True),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('chunks', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'storage_chunks',
        sa.Column('digest', sa.String(64), primary_key=True),
        sa.Column('seq', sa.Integer(), primary_key=True),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        'storage_names',
        sa.Column('name', sa.String(500), primary_key=True),
        sa.Column('digest', sa.String(64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('storage_names')
    op.drop_table('storage_chunks')
    op.drop_table('storage_blobs')
