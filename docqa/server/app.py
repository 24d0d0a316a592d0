"""The FastAPI application of ``docqa serve``.

>>> from docqa.server import ServerConfig, create_app
>>> app = create_app(ServerConfig(model="/models/minilm-uncased-squad2"))
>>> sorted(path for path in app.openapi()["paths"] if path.startswith("/documents"))
['/documents', '/documents/count', '/documents/search']

Run it with uvicorn (``docqa serve`` does): ``uvicorn.run(app, host="127.0.0.1", port=8000)``. The API docs at
``/docs`` (Swagger UI) and ``/redoc`` are served with their scripts and styles from this installation
(``fastapi-offline``'s copies): they work without network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from docqa.server.config import ServerConfig
from docqa.server.errors import install_error_handlers
from docqa.server.metrics import ServerMetrics
from docqa.server.middleware import BodyLimitMiddleware, MetricsMiddleware
from docqa.server.routers import api_router
from docqa.server.state import ServerState

STATIC_DIR = Path(__file__).parent / "static"


def create_app(config: ServerConfig) -> FastAPI:
    """The API over ``config``'s store and models; they load in the background once the app starts."""
    from docqa import __version__

    metrics = ServerMetrics()
    state = ServerState(config, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.start()
        yield
        await asyncio.to_thread(state.close)

    app = FastAPIOffline(
        title="docqa", version=__version__, lifespan=lifespan, description="Extractive question answering."
    )
    app.state.docqa = state
    install_error_handlers(app, config.retry_after_seconds)
    app.include_router(api_router())
    _add_page(app)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["*"], allow_headers=["*"]
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.limits.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _add_page(app: FastAPI) -> None:
    """``GET /`` serves the web page and ``/static/*`` its files, when the static folder is there."""

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            return JSONResponse({"detail": "no web page in this installation"}, status_code=404)
        return FileResponse(page)

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
