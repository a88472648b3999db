"""``GET /metrics``: this process's Prometheus registry (``fluently.metrics.REGISTRY``).

For a single-machine Prometheus: the ingress replica's HTTP requests by route template and
status, and their latency. The domain metrics (jobs, chunks, backends, reports) come from every
replica of every deployment through Ray's metrics export instead (README, "Observability");
only outside Ray, where they are recorded in this process, are they served here too.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fluently.metrics import LATENCY, REGISTRY, REQUESTS

__all__ = ["LATENCY", "REGISTRY", "REQUESTS", "router"]

router = APIRouter(tags=["ops"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    """Prometheus text exposition of this replica's counters and histograms."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
