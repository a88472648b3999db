"""``GET /readyz``: the database, its migrations and, under Serve, the deployments behind the
ingress (the Dispatcher's job loop, a transcriber), answered without waiting on any replica.

In-process there is no Serve: the deployments are ``not_applicable``, and the check the Serve
ingress installs is replaced by functions that answer as Serve's controller would, or hang.
On the real platform the controller is asked for real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
from ray.serve._private.common import DeploymentStatus, DeploymentStatusTrigger, ReplicaState
from ray.serve.schema import ApplicationStatus, ApplicationStatusOverview, ServeStatus
from ray.serve.schema import DeploymentStatusOverview as Overview

from deployments.readiness import assess
from fluently.settings import Settings
from serve_app.app import create_app
from serve_app.services.health import DeploymentsCheck
from tests.platform import Platform
from tests.support import client_of


async def readyz(settings: Settings, check: DeploymentsCheck | None) -> httpx.Response:
    app = create_app(settings, deployments_check=check)
    async with app.router.lifespan_context(app), client_of(app) as client:
        return await client.get("/readyz")


def answering(**parts: str) -> Callable[[], dict[str, str]]:
    return lambda: dict(parts)


class TestWithoutServe:
    async def test_deployments_are_not_applicable_and_the_app_is_ready(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok", "deployments": "not_applicable"},
        }


class TestDeploymentsCheck:
    async def test_ready_when_the_dispatcher_and_a_transcriber_run(
        self, settings: Settings
    ) -> None:
        response = await readyz(settings, answering(dispatcher="ok", transcriber="ok"))
        assert response.status_code == 200
        assert response.json()["checks"]["deployments"] == "ok"
        assert response.json()["deployments"] == {"dispatcher": "ok", "transcriber": "ok"}

    async def test_503_names_the_part_that_is_down(self, settings: Settings) -> None:
        down = "no healthy Dispatcher replica (1 starting)"
        response = await readyz(settings, answering(dispatcher=down, transcriber="ok"))
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "deployments": "not ready: dispatcher",
        }
        assert body["deployments"]["dispatcher"] == down

    async def test_a_controller_that_does_not_answer_is_not_waited_for(
        self, settings: Settings
    ) -> None:
        release = threading.Event()

        def hanging() -> dict[str, str]:
            release.wait(30)
            return {"dispatcher": "ok", "transcriber": "ok"}

        started = time.monotonic()
        try:
            response = await readyz(
                settings.model_copy(update={"readiness_timeout_s": 0.3}), hanging
            )
        finally:
            release.set()
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.json()["checks"]["deployments"] == "not ready: serve"
        assert "did not answer within 0.3 s" in response.json()["deployments"]["serve"]

    async def test_a_failing_controller_call_is_not_ready(self, settings: Settings) -> None:
        def failing() -> dict[str, str]:
            raise ConnectionError("controller gone")

        response = await readyz(settings, failing)
        assert response.status_code == 503
        assert response.json()["deployments"] == {
            "serve": "the Serve controller could not be asked: ConnectionError"
        }


def _serve(**replicas: dict[ReplicaState, int]) -> ServeStatus:
    deployments = {
        name: Overview(
            status=DeploymentStatus.HEALTHY,
            status_trigger=DeploymentStatusTrigger.UNSPECIFIED,
            replica_states=states,
            message="",
        )
        for name, states in replicas.items()
    }
    app = ApplicationStatusOverview(
        status=ApplicationStatus.RUNNING,
        message="",
        last_deployed_time_s=0,
        deployments=deployments,
    )
    return ServeStatus(applications={"fluently": app})


class TestControllerStatus:
    def test_running_replicas_are_ok(self) -> None:
        status = _serve(
            Dispatcher={ReplicaState.RUNNING: 1},
            LocalTranscriber={ReplicaState.RUNNING: 1, ReplicaState.STARTING: 1},
        )
        found = assess(
            status, app="fluently", dispatcher="Dispatcher", transcribers=("LocalTranscriber",)
        )
        assert found == {"dispatcher": "ok", "transcriber": "ok"}

    def test_a_deployment_without_a_running_replica_or_not_deployed_is_named(self) -> None:
        status = _serve(
            Dispatcher={ReplicaState.STARTING: 1, ReplicaState.STOPPING: 1},
            LocalTranscriber={ReplicaState.RUNNING: 2},
        )
        found = assess(
            status, app="fluently", dispatcher="Dispatcher", transcribers=("Groq", "Azure")
        )
        assert found == {
            "dispatcher": "no healthy Dispatcher replica (1 starting, 1 stopping)",
            "transcriber": "Groq is not deployed; Azure is not deployed",
        }


class TestOnThePlatform:
    def test_the_controller_reports_the_dispatcher_and_the_transcriber(
        self, platform: Platform
    ) -> None:
        response = httpx.get(f"{platform.url}/readyz", timeout=30)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok", "deployments": "ok"},
            "deployments": {"dispatcher": "ok", "transcriber": "ok"},
        }
