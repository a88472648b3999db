"""Hot model swaps: ``serve deploy`` with a changed ``user_config`` while a recording runs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import yaml

from tests.platform import REPO, Platform
from tests.support import FIXTURES, signup, upload, wait_processed


def local_user_config() -> dict[str, Any]:
    config = yaml.safe_load((REPO / "serve_config.yaml").read_text())
    for deployment in config["applications"][0]["deployments"]:
        if deployment["name"] == "LocalTranscriber":
            return dict(deployment["user_config"])
    raise AssertionError("serve_config.yaml has no LocalTranscriber deployment")


async def loaded_config(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    models = (await api.get("/v1/models", headers=headers)).json()["data"]
    config: dict[str, Any] = next(m for m in models if m["id"] != "whisper-1")["config"]
    return config


class TestHotSwap:
    async def test_a_changed_user_config_swaps_without_failing_requests(
        self, api: httpx.AsyncClient, platform: Platform
    ) -> None:
        headers = await signup(api)
        assert (await loaded_config(api, headers))["beam_size"] == 5
        response = await upload(api, headers, FIXTURES / "speech_3min.mp3")
        assert response.status_code == 202
        recording_id = response.json()["recording_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = (await api.get(f"/audio_recordings/{recording_id}", headers=headers)).json()
            if body["status"] == "processing":
                break
            await asyncio.sleep(0.5)

        swapped = {**local_user_config(), "beam_size": 1}
        try:
            await asyncio.to_thread(platform.deploy, {"LocalTranscriber": {"user_config": swapped}})
            body = await wait_processed(api, headers, recording_id, timeout_s=600)
            assert body["status"] == "processed", body
            deadline = time.monotonic() + 120
            while (await loaded_config(api, headers))["beam_size"] != 1:
                assert time.monotonic() < deadline, "the new user_config never took effect"
                await asyncio.sleep(1)
            after = await upload(api, headers, FIXTURES / "jfk.opus")
            assert (await wait_processed(api, headers, after.json()["recording_id"]))[
                "status"
            ] == "processed"
        finally:
            await asyncio.to_thread(platform.deploy, {})
