"""``GET /metrics``: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from docqa.server.dependencies import State, reads

router = APIRouter(tags=["metrics"])


@router.get("/metrics", dependencies=[Depends(reads)], response_class=Response)
async def metrics(state: State) -> Response:
    """Requests by route and status, latency, queue depth and batch sizes per model."""
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
