"""S3 for tests: moto's standalone server on loopback, holding one bucket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from fluently.launcher import free_port
from fluently.settings import S3Settings

KEY = "testing"
"""moto takes any credentials; these are what the platform is given."""


@contextmanager
def moto_s3(base: S3Settings, *, bucket: str) -> Iterator[S3Settings]:
    """``base`` pointed at a moto server running until the block ends, with ``bucket`` made."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = base.model_copy(
            update={
                "bucket": bucket,
                "endpoint_url": f"http://127.0.0.1:{port}",
                "access_key_id": SecretStr(KEY),
                "secret_access_key": SecretStr(KEY),
            }
        )
        boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name=s3.region,
            aws_access_key_id=KEY,
            aws_secret_access_key=KEY,
        ).create_bucket(Bucket=bucket)
        yield s3
    finally:
        server.stop()


def s3_env(s3: S3Settings) -> dict[str, str]:
    """The environment that gives a platform process ``s3`` as its storage."""
    assert s3.endpoint_url is not None
    return {
        "ACTIVE_STORAGE_SERVICE": "s3",
        "S3__BUCKET": s3.bucket,
        "S3__ENDPOINT_URL": s3.endpoint_url,
        "S3__REGION": s3.region,
        "S3__ACCESS_KEY_ID": KEY,
        "S3__SECRET_ACCESS_KEY": KEY,
    }
