"""cohorts (roster, assessments with deadlines); credential issue key and supersession

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_OLD_UNIQUE_SQLITE = 'uq_credentials_learner_id_achievement_id_achievement_version'
_OLD_UNIQUE_POSTGRES = 'credentials_learner_id_achievement_id_achievement_version_key'
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def upgrade() -> None:
    op.create_table(
        'cohorts',
        sa.Column('id', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'cohort_members',
        sa.Column('cohort_id', sa.String(length=200), nullable=False),
        sa.Column('learner_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('section', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id']),
        sa.ForeignKeyConstraint(['learner_id'], ['learners.id']),
        sa.PrimaryKeyConstraint('cohort_id', 'learner_id'),
    )
    op.create_table(
        'cohort_assessments',
        sa.Column('cohort_id', sa.String(length=200), nullable=False),
        sa.Column('assessment_id', sa.String(length=200), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id']),
        sa.PrimaryKeyConstraint('cohort_id', 'assessment_id'),
    )
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=500), nullable=True))
    sqlite = op.get_bind().dialect.name == 'sqlite'
    with op.batch_alter_table('credentials', schema=None, naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column('issue_key', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('superseded_by', sa.String(length=100), nullable=True))
        batch_op.drop_constraint(_OLD_UNIQUE_SQLITE if sqlite else _OLD_UNIQUE_POSTGRES, type_='unique')
        batch_op.create_unique_constraint(
            'uq_credentials_issue', ['learner_id', 'achievement_id', 'achievement_version', 'issue_key']
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint('uq_credentials_issue', type_='unique')
        batch_op.create_unique_constraint(
            _OLD_UNIQUE_SQLITE if sqlite else _OLD_UNIQUE_POSTGRES,
            ['learner_id', 'achievement_id', 'achievement_version'],
        )
        batch_op.drop_column('superseded_by')
        batch_op.drop_column('issue_key')
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.drop_column('name')
    op.drop_table('cohort_assessments')
    op.drop_table('cohort_members')
    op.drop_table('cohorts')
