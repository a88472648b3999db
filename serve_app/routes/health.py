"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serve_app.deps import StateDep
from serve_app.services.health import readiness

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(state: StateDep) -> JSONResponse | dict[str, Any]:
    """The database answers, its schema is at the code's migration head, and under Serve the
    Dispatcher (its job loop) and a transcriber run; 503 naming what is not. ``checks`` holds
    each outcome (``deployments`` is ``not_applicable`` outside Serve), ``deployments`` each
    deployment's."""
    found = await readiness(
        state.engine,
        deployments=state.deployments_check,
        timeout_s=state.settings.readiness_timeout_s,
    )
    body: dict[str, Any] = {
        "status": "ready" if found.ready else "not_ready",
        "checks": found.checks,
    }
    if found.deployments is not None:
        body["deployments"] = found.deployments
    return body if found.ready else JSONResponse(body, status_code=503)
