"""wallets: OpenID4VCI offers and nonces, VC-API exchanges, holder-bound copies of credentials

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'wallet_offers',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('credential_id', sa.String(100), sa.ForeignKey('credentials.id'), nullable=False),
        sa.Column('learner_id', sa.String(200), sa.ForeignKey('learners.id'), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('tx_code_hash', sa.String(64), nullable=True),
        sa.Column('tx_failures', sa.Integer(), nullable=False),
        _when('created_at', False), _when('expires_at', False), _when('redeemed_at'),
        sa.Column('token_hash', sa.String(64), nullable=True, unique=True),
        _when('token_expires_at'), _when('delivered_at'),
    )
    op.create_index('ix_wallet_offers_credential_id', 'wallet_offers', ['credential_id'])
    op.create_table(
        'wallet_nonces',
        sa.Column('nonce_hash', sa.String(64), primary_key=True),
        _when('expires_at', False), _when('used_at'),
    )
    op.create_index('ix_wallet_nonces_expires_at', 'wallet_nonces', ['expires_at'])
    op.create_table(
        'wallet_exchanges',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('handle_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('credential_id', sa.String(100), sa.ForeignKey('credentials.id'), nullable=False),
        sa.Column('learner_id', sa.String(200), sa.ForeignKey('learners.id'), nullable=False),
        sa.Column('challenge', sa.String(100), nullable=False),
        _when('created_at', False), _when('expires_at', False), _when('completed_at'),
    )
    op.create_index('ix_wallet_exchanges_credential_id', 'wallet_exchanges', ['credential_id'])
    op.create_table(
        'holder_copies',
        sa.Column('id', sa.String(100), primary_key=True),
        sa.Column('credential_id', sa.String(100), sa.ForeignKey('credentials.id'), nullable=False),
        sa.Column('holder', sa.String(2000), nullable=False),
        sa.Column('protocol', sa.String(20), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        _when('issued_at', False),
    )
    op.create_index('ix_holder_copies_credential_id', 'holder_copies', ['credential_id'])


def downgrade() -> None:
    for table in ('holder_copies', 'wallet_exchanges', 'wallet_nonces', 'wallet_offers'):
        op.drop_table(table)
