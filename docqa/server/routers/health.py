"""``GET /health`` (liveness), ``GET /ready`` (readiness: every model and the store loaded) and ``GET /info``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from docqa.server.dependencies import State
from docqa.server.schemas import Health, Info, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, response_model_exclude_none=True)
async def health(state: State) -> Health:
    """The process is alive: 200 as soon as it listens; ``degraded`` (still 200) when something failed to load."""
    errors = dict(state.errors)
    return Health(status="degraded", errors=errors) if errors else Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(state: State) -> JSONResponse:
    """200 once every model and the store are loaded and warm; 503 with what is still loading or failed."""
    errors, loading = dict(state.errors), list(state.loading)
    failed = "; ".join(f"the {name} failed to load: {message}" for name, message in errors.items())
    detail = failed or (f"still loading: {', '.join(loading)}" if loading else None)
    body = Readiness(ready=not errors and not loading, loading=loading, errors=errors, detail=detail)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if body.ready else 503)


@router.get("/info", response_model=Info)
async def info(state: State) -> Info:
    """What a client needs to know before calling: version, whether writes and keys are needed, limits."""
    from docqa import __version__

    config = state.config
    return Info(
        version=__version__,
        writes_allowed=state.writes_allowed,
        api_key_required_for_writes=config.api_key is not None,
        api_key_required_for_reads=config.api_key is not None and config.api_key_for_reads,
        max_upload_bytes=config.limits.max_body_bytes,
    )
