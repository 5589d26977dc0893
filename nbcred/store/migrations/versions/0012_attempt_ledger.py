"""the attempt ledger: one number per distinct content, unique per learner and assessment

Existing submissions (web and graded) are numbered in the order their contents were first seen.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    attempts = op.create_table(
        'attempts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('learner_id', sa.String(200), sa.ForeignKey('learners.id'), nullable=False),
        sa.Column('assessment_id', sa.String(200), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('learner_id', 'assessment_id', 'attempt', name='uq_attempts_number'),
        sa.UniqueConstraint('learner_id', 'assessment_id', 'content_hash', name='uq_attempts_content'),
    )
    op.bulk_insert(attempts, _existing(op.get_bind()))


def _existing(bind: sa.engine.Connection) -> list[dict[str, object]]:
    rows = list(bind.execute(sa.text(
        "SELECT learner_id, assessment_id, content_hash, submitted_at FROM web_submissions "
        "UNION ALL SELECT s.learner_id, v.assessment_id, s.content_hash, s.submitted_at "
        "FROM submissions s JOIN assessment_versions v ON v.pk = s.assessment_pk")))
    rows.sort(key=lambda r: (r[0], r[1], str(r[3]), r[2]))
    ledger: dict[tuple[str, str], list[str]] = {}
    for learner, assessment, digest, _moment in rows:
        seen = ledger.setdefault((learner, assessment), [])
        if digest not in seen:
            seen.append(digest)
    now = datetime.now(UTC)
    return [{"learner_id": learner, "assessment_id": assessment, "attempt": n, "content_hash": digest,
             "created_at": now}
            for (learner, assessment), digests in ledger.items() for n, digest in enumerate(digests, 1)]


def downgrade() -> None:
    op.drop_table('attempts')
