"""Audio storage: local disk and S3 (boto3, against moto's standalone server on loopback) pass
the same tests, and an upload through the API lands in (and is deleted from) the bucket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from fluently.settings import Settings, StorageService
from fluently.storage import LocalDiskStorage, S3Storage, StorageProvider, make_storage
from tests.s3 import moto_s3
from tests.support import FIXTURES, app_client, signup, upload

BUCKET = "fluently-test-audio"


@pytest.fixture(scope="module")
def s3_settings(settings: Settings) -> Iterator[Settings]:
    with moto_s3(settings.s3, bucket=BUCKET) as s3:
        yield settings.model_copy(
            update={
                "active_storage_service": StorageService.s3,
                "s3": s3,
                "auth": settings.auth.model_copy(update={"signup_limit_per_ip": 10_000}),
            }
        )


@pytest.fixture(params=["local", "s3"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_settings: Settings
) -> StorageProvider:
    if request.param == "local":
        return LocalDiskStorage(tmp_path / "audio")
    provider = make_storage(s3_settings)
    assert isinstance(provider, S3Storage)
    return provider


class TestStorageProviders:
    def test_put_download_delete(self, storage: StorageProvider, tmp_path: Path) -> None:
        source = FIXTURES / "jfk.opus"
        storage.put_file("tenant/recording", source)
        assert storage.exists("tenant/recording")
        target = tmp_path / "copy"
        storage.download("tenant/recording", target)
        assert target.read_bytes() == source.read_bytes()
        storage.delete("tenant/recording")
        assert not storage.exists("tenant/recording")
        storage.delete("tenant/recording")

    def test_a_missing_key_is_a_key_error(self, storage: StorageProvider, tmp_path: Path) -> None:
        with pytest.raises(KeyError):
            storage.download("tenant/none", tmp_path / "x")

    def test_an_object_reads_back_in_pieces(self, storage: StorageProvider) -> None:
        source = FIXTURES / "jfk.opus"
        storage.put_file("tenant/pieces", source)
        pieces = list(storage.read_chunks("tenant/pieces", chunk_size=10_000))
        assert b"".join(pieces) == source.read_bytes()
        assert len(pieces) == -(-source.stat().st_size // 10_000)
        assert all(len(piece) <= 10_000 for piece in pieces)
        with pytest.raises(KeyError):
            next(storage.read_chunks("tenant/none"))

    def test_a_byte_range_reads_back_in_pieces(self, storage: StorageProvider) -> None:
        source = FIXTURES / "jfk.opus"
        storage.put_file("tenant/range", source)
        data = source.read_bytes()
        pieces = list(storage.read_chunks("tenant/range", chunk_size=1000, start=1500, stop=4200))
        assert b"".join(pieces) == data[1500:4200]
        assert all(len(piece) <= 1000 for piece in pieces)
        assert b"".join(storage.read_chunks("tenant/range", start=len(data) - 7)) == data[-7:]
        assert b"".join(storage.read_chunks("tenant/range", stop=12)) == data[:12]

    def test_local_keys_cannot_escape_the_root(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError):
            LocalDiskStorage(tmp_path / "audio").put_file("../outside", FIXTURES / "jfk.opus")


@pytest.fixture(scope="module")
async def s3_client(s3_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(s3_settings) as c:
        yield c


class TestUploadsToS3:
    async def test_an_upload_is_stored_in_the_bucket_and_deleted_with_its_recording(
        self, s3_client: httpx.AsyncClient, s3_settings: Settings
    ) -> None:
        storage = make_storage(s3_settings)
        headers = await signup(s3_client)
        response = await upload(s3_client, headers, FIXTURES / "jfk.mp3")
        assert response.status_code == 202, response.text
        recording_id = response.json()["recording_id"]
        me = (await s3_client.get("/auth/me", headers=headers)).json()
        key = f"{me['tenant_id']}/{recording_id}"
        assert storage.exists(key)
        deleted = await s3_client.delete(f"/audio_recordings/{recording_id}", headers=headers)
        assert deleted.status_code == 204
        assert not storage.exists(key)

    async def test_bad_input_leaves_nothing_in_the_bucket(
        self, s3_client: httpx.AsyncClient, s3_settings: Settings
    ) -> None:
        storage = make_storage(s3_settings)
        assert isinstance(storage, S3Storage)
        before = storage.client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
        headers = await signup(s3_client)
        response = await upload(s3_client, headers, FIXTURES / "notes.txt")
        assert response.status_code == 422
        assert storage.client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before


def test_local_audio_is_readable_by_the_platform_user_only(tmp_path: Path) -> None:
    """Recordings are health data: 0600 files in 0700 folders, whatever the umask."""
    import os
    import stat

    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF....")
    (tmp_path / "audio").mkdir(mode=0o755)  # an existing root is tightened too
    old = os.umask(0o002)
    try:
        store = LocalDiskStorage(tmp_path / "audio")
        store.put_file("tenant/2026/rec.wav", source)
        (tmp_path / "audio" / "tenant" / "2026" / "again.wav.partial").write_bytes(b"x")
        os.chmod(tmp_path / "audio" / "tenant" / "2026" / "again.wav.partial", 0o644)
        store.put_file("tenant/2026/again.wav", source)
    finally:
        os.umask(old)
    root = tmp_path / "audio"
    for path in (root, root / "tenant", root / "tenant" / "2026"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for name in ("rec.wav", "again.wav"):
        path = root / "tenant" / "2026" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.read_bytes() == b"RIFF...."
