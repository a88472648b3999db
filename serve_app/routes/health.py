"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from db.migrate import is_at_head
from serve_app.deps import StateDep

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(state: StateDep) -> JSONResponse | dict[str, Any]:
    """The database answers and its schema is at the code's migration head."""
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            at_head = await conn.run_sync(is_at_head)
            checks["migrations"] = "ok" if at_head else "behind"
    except Exception as exc:  # any failure to reach the database means not ready
        checks.setdefault("database", f"unreachable: {type(exc).__name__}")
    ready = all(v == "ok" for v in checks.values()) and "migrations" in checks
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return body if ready else JSONResponse(body, status_code=503)
