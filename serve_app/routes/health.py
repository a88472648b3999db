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
    """The database answers and its schema is at the code's migration head."""
    found = await readiness(state.engine)
    body = {"status": "ready" if found.ready else "not_ready", "checks": found.checks}
    return body if found.ready else JSONResponse(body, status_code=503)
