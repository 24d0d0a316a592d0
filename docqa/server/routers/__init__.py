"""The API's routers, one per resource: health (and readiness, info), metrics, query, score and documents."""

from __future__ import annotations

from fastapi import APIRouter

from docqa.server.routers import documents, health, metrics, query, score
from docqa.server.schemas import ErrorOut

#: The error responses any route may give, each a one-line ``{"detail"}`` (see :mod:`docqa.server.errors`).
ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorOut} for code in (400, 401, 403, 409, 413, 422, 503)}


def api_router() -> APIRouter:
    """Every route of the API."""
    router = APIRouter(responses=ERRORS)
    for module in (health, metrics, query, score, documents):
        router.include_router(module.router)
    return router
