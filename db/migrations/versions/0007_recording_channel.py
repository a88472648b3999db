"""recording channel

Which channel of a two-channel recording is the speech to measure (``pipelines.audio.Channel``):
``mix`` (both, as every recording before this revision was decoded), ``left`` or ``right``, for a
session recorded with a microphone per person. Existing rows are ``mix``. Each channel of the
same bytes is another speaker, so the uploader's unique key gains the channel: the client on the
left and the clinician on the right are two recordings of one file.

Downgrade refuses, changing nothing, while an uploader holds the same bytes under two channels
(delete one of each pair first), as 0003's does.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPLOADER_KEY = "uq_audio_recordings_tenant_id_user_id_sha256"
CHANNEL_KEY = "uq_audio_recordings_tenant_id_user_id_sha256_channel"
CHANNELS = "ck_audio_recordings_channel"


def upgrade() -> None:
    op.add_column(
        "audio_recordings",
        sa.Column("channel", sa.String(length=8), nullable=False, server_default="mix"),
    )
    op.create_check_constraint(CHANNELS, "audio_recordings", "channel IN ('mix', 'left', 'right')")
    op.drop_constraint(UPLOADER_KEY, "audio_recordings", type_="unique")
    op.create_unique_constraint(
        CHANNEL_KEY, "audio_recordings", ["tenant_id", "user_id", "sha256", "channel"]
    )


def downgrade() -> None:
    # A unique index reads every row, whatever the row-level security policies say.
    op.execute(f"""
        DO $$
        BEGIN
            ALTER TABLE audio_recordings
                ADD CONSTRAINT {UPLOADER_KEY} UNIQUE (tenant_id, user_id, sha256);
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'cannot downgrade below 0007: an uploader holds the same audio '
                'under two channels, and the key of 0006 allows only one'
                USING HINT = 'delete one recording of each pair, then downgrade again',
                      DETAIL = SQLERRM;
        END
        $$;
    """)
    op.drop_constraint(CHANNEL_KEY, "audio_recordings", type_="unique")
    op.drop_constraint(CHANNELS, "audio_recordings", type_="check")
    op.drop_column("audio_recordings", "channel")
