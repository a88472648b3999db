"""Readiness: the database answers, its schema is at the code's migration head, and under Serve
the deployments behind the ingress run (``deployments.readiness``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from db.health import database_status

DeploymentsCheck = Callable[[], dict[str, str]]
"""Blocking: each deployment part (``dispatcher``, ``transcriber``) and ``ok`` or what is
wrong. None outside Serve, where there are no deployments to check."""

NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]
    """Each check's outcome: ``ok``, ``not_applicable``, or what is wrong."""
    deployments: dict[str, str] | None
    """Each deployment part's outcome; None outside Serve."""


async def _deployments(check: DeploymentsCheck | None, timeout_s: float) -> dict[str, str] | None:
    if check is None:
        return None
    try:
        return await asyncio.wait_for(asyncio.to_thread(check), timeout=timeout_s)
    except TimeoutError:
        return {"serve": f"the Serve controller did not answer within {timeout_s:g} s"}
    except Exception as exc:  # any failure to learn the deployments' state means not ready
        return {"serve": f"the Serve controller could not be asked: {type(exc).__name__}"}


async def readiness(
    engine: AsyncEngine, *, deployments: DeploymentsCheck | None, timeout_s: float
) -> Readiness:
    status, parts = await asyncio.gather(
        database_status(engine), _deployments(deployments, timeout_s)
    )
    checks = {"database": "ok" if status.answered else f"unreachable: {status.failure}"}
    if status.at_head is not None:
        checks["migrations"] = "ok" if status.at_head else "behind"
    if parts is None:
        checks["deployments"] = NOT_APPLICABLE
    else:
        failing = [part for part, outcome in parts.items() if outcome != "ok"]
        checks["deployments"] = f"not ready: {', '.join(failing)}" if failing else "ok"
    ready = all(v in ("ok", NOT_APPLICABLE) for v in checks.values()) and "migrations" in checks
    return Readiness(ready=ready, checks=checks, deployments=parts)
