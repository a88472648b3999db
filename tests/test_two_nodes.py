"""The platform on two Ray nodes, with an external Postgres and S3: what running at scale means.

A head and a worker node (``tests/cluster.py``), the session's Postgres reached only through
``DATABASE_URL`` (the embedded binary started on its own and migrated, as ``conftest`` does for
every platform test), recordings in S3 (a moto server). A recording's chunks are transcribed on
both nodes; then the worker node dies mid-job and the job still finishes, with one transcript.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import httpx
import psycopg
import pytest

from fluently.settings import S3Settings, Settings
from tests.cluster import TwoNodePlatform
from tests.conftest import platform_env
from tests.s3 import KEY, moto_s3, s3_env
from tests.support import FIXTURES, signup, upload, wait_processed

pytestmark = pytest.mark.slow

RECORDING = FIXTURES / "speech_3min.mp3"
TWO_NODE_ENV = {
    # 20 s chunks: a three-minute recording is about ten of them, enough to keep both
    # transcribers busy for a while.
    "PIPELINE__CHUNK_TARGET_S": "20",
    "PIPELINE__CHUNK_MAX_S": "30",
    # The retry a lost node costs is the queue's ordinary one, at its default backoff.
    "JOBS__MAX_ATTEMPTS": "4",
    "JOBS__BACKOFF_BASE_S": "2",
    "JOBS__BACKOFF_MAX_S": "20",
}
PROCESSED_TIMEOUT_S = 600.0


@pytest.fixture(scope="module")
def s3(settings: Settings) -> Iterator[S3Settings]:
    with moto_s3(settings.s3, bucket="fluently-two-nodes") as configured:
        yield configured


@pytest.fixture(scope="module")
def cluster(
    settings: Settings, s3: S3Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoNodePlatform]:
    platform = TwoNodePlatform(
        env={**platform_env(settings), **s3_env(s3), **TWO_NODE_ENV},
        workdir=tmp_path_factory.mktemp("two-nodes"),
    )
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
async def cluster_api(cluster: TwoNodePlatform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=60) as client:
        yield client


async def upload_recording(api: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await upload(api, headers, RECORDING)
    assert response.status_code == 202, response.text
    recording_id: str = response.json()["recording_id"]
    return recording_id


async def wait_for_progress(
    api: httpx.AsyncClient, headers: dict[str, str], recording_id: str, *, chunks_done: int
) -> dict[str, Any]:
    """The recording once ``chunks_done`` of its chunks are transcribed and some are not."""
    deadline = time.monotonic() + PROCESSED_TIMEOUT_S
    while time.monotonic() < deadline:
        body: dict[str, Any] = (
            await api.get(f"/audio_recordings/{recording_id}", headers=headers)
        ).json()
        total, done = body["progress"]["chunks_total"], body["progress"]["chunks_done"]
        if body["status"] == "processing" and total > 0 and chunks_done <= done < total:
            return body
        assert body["status"] in ("pending", "processing"), (body["status"], body.get("error"))
        await asyncio.sleep(0.5)
    raise AssertionError(f"recording {recording_id} made no progress: {body}")


async def transcript_of(
    api: httpx.AsyncClient, headers: dict[str, str], recording_id: str
) -> dict[str, Any]:
    response = await api.get(f"/audio_recordings/{recording_id}/transcript", headers=headers)
    assert response.status_code == 200, response.text
    transcript: dict[str, Any] = response.json()
    return transcript


class TestTwoNodes:
    async def test_a_recording_is_transcribed_on_both_nodes_and_stored_in_s3(
        self, cluster: TwoNodePlatform, cluster_api: httpx.AsyncClient, s3: S3Settings
    ) -> None:
        headers = await signup(cluster_api)
        recording_id = await upload_recording(cluster_api, headers)
        body = await wait_processed(
            cluster_api, headers, recording_id, timeout_s=PROCESSED_TIMEOUT_S
        )
        assert body["status"] == "processed", body

        transcript = await transcript_of(cluster_api, headers, recording_id)
        chunks = transcript["chunks"]
        assert len(chunks) >= 6, chunks
        assert {chunk["node_id"] for chunk in chunks} == {
            cluster.head.node_id(),
            cluster.worker.node_id(),
        }
        assert chunks[-1]["end"] == pytest.approx(body["duration_s"], abs=0.5)
        me = (await cluster_api.get("/auth/me", headers=headers)).json()
        bucket = boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name=s3.region,
            aws_access_key_id=KEY,
            aws_secret_access_key=KEY,
        )
        stored = bucket.head_object(Bucket=s3.bucket, Key=f"{me['tenant_id']}/{recording_id}")
        assert stored["ContentLength"] == RECORDING.stat().st_size

    async def test_a_job_finishes_once_when_the_worker_node_dies_mid_job(
        self,
        cluster: TwoNodePlatform,
        cluster_api: httpx.AsyncClient,
        superuser_conninfo: str,
    ) -> None:
        headers = await signup(cluster_api)
        head, worker = cluster.head.node_id(), cluster.worker.node_id()
        recording_id = await upload_recording(cluster_api, headers)
        # Chunks fan out to both replicas at once: with one done and others left, the
        # worker's replica is busy with one or about to take the next.
        await wait_for_progress(cluster_api, headers, recording_id, chunks_done=1)
        cluster.worker.kill_raylet()

        body = await wait_processed(
            cluster_api, headers, recording_id, timeout_s=PROCESSED_TIMEOUT_S
        )
        assert body["status"] == "processed", body
        transcript = await transcript_of(cluster_api, headers, recording_id)
        assert transcript["chunks"][-1]["end"] == pytest.approx(body["duration_s"], abs=0.5)
        assert {chunk["node_id"] for chunk in transcript["chunks"]} <= {head, worker}
        with psycopg.connect(superuser_conninfo) as conn:
            transcripts = conn.execute(
                "SELECT count(*) FROM transcriptions WHERE recording_id = %s", (recording_id,)
            ).fetchone()
            job = conn.execute(
                "SELECT status, attempts FROM jobs WHERE recording_id = %s", (recording_id,)
            ).fetchall()
        assert transcripts == (1,)
        assert [status for status, _ in job] == ["done"], job
