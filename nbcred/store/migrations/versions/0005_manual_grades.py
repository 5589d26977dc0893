"""manual grades: instructors' cell scores, gradings amended by them, serialised saves

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'manual_grades',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('notebook', sa.String(length=200), nullable=False),
        sa.Column('cell', sa.String(length=200), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('grader', sa.String(length=320), nullable=False),
        sa.Column('graded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('grading_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['submission_id'], ['submissions.id']),
        sa.ForeignKeyConstraint(['grading_id'], ['gradings.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_manual_grades_submission_id', 'manual_grades', ['submission_id'])
    op.add_column('submissions', sa.Column('manual_revision', sa.Integer(), nullable=False,
                                           server_default='0'))
    op.add_column('gradings', sa.Column('origin', sa.String(length=20), nullable=False,
                                        server_default='auto'))
    op.add_column('gradings', sa.Column('based_on', sa.Integer(), nullable=True))
    op.add_column('gradings', sa.Column('graded_by', sa.String(length=320), nullable=True))
    op.add_column('gradings', sa.Column('tests', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('gradings') as batch:
        for column in ('tests', 'graded_by', 'based_on', 'origin'):
            batch.drop_column(column)
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('manual_revision')
    op.drop_index('ix_manual_grades_submission_id', table_name='manual_grades')
    op.drop_table('manual_grades')
