"""recordings unique per uploader

An upload of bytes already stored was answered with the stored recording, matched across the
whole tenant: a member uploading what an admin had uploaded was handed the admin's recording id,
which they cannot read. De-duplication now stays within what the caller may see, so the unique
key becomes (tenant_id, user_id, sha256): two users of one clinic may each hold the same audio.
An admin's tenant-wide match is found through a plain (tenant_id, sha256) index.

Downgrade restores the tenant-wide key and so refuses, changing nothing, while two users of one
tenant hold the same bytes: it would have to delete clinical recordings to succeed. Delete one
of each pair (``DELETE /audio_recordings/{id}``) first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_KEY = "uq_audio_recordings_tenant_id_sha256"
UPLOADER_KEY = "uq_audio_recordings_tenant_id_user_id_sha256"
TENANT_INDEX = "ix_audio_recordings_tenant_id_sha256"


def upgrade() -> None:
    op.drop_constraint(TENANT_KEY, "audio_recordings", type_="unique")
    op.create_unique_constraint(
        UPLOADER_KEY, "audio_recordings", ["tenant_id", "user_id", "sha256"]
    )
    op.create_index(TENANT_INDEX, "audio_recordings", ["tenant_id", "sha256"])


def downgrade() -> None:
    # Building a unique index reads every row, whatever the row-level security policies say,
    # so this finds duplicates that a SELECT by the owner (no tenant set) could not.
    op.execute(f"""
        DO $$
        BEGIN
            ALTER TABLE audio_recordings
                ADD CONSTRAINT {TENANT_KEY} UNIQUE (tenant_id, sha256);
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'cannot downgrade below 0003: two users of one tenant hold the same '
                'audio, and the tenant-wide unique key of 0002 allows only one'
                USING HINT = 'delete one recording of each pair, then downgrade again',
                      DETAIL = SQLERRM;
        END
        $$;
    """)
    op.drop_index(TENANT_INDEX, table_name="audio_recordings")
    op.drop_constraint(UPLOADER_KEY, "audio_recordings", type_="unique")
