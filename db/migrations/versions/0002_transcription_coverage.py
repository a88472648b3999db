"""transcription coverage

What the coverage check found and repaired for each transcript (voiced seconds, seconds no word
covered, repairs, words recovered, voiced seconds still without words), so a clinician and an
operator can see that a repair happened. Existing rows get an empty object: not checked.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "transcriptions",
        sa.Column(
            "coverage",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("transcriptions", "coverage")
