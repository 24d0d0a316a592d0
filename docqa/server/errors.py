"""Every error as a one-line JSON body ``{"detail": ...}``; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from docqa.errors import DocqaError, DuplicateDocumentError, RequestError
from docqa.server.batching import ServerBusy
from docqa.server.state import NotReady, Unavailable

logger = logging.getLogger("docqa.server")


class LimitExceeded(DocqaError):
    """A request goes beyond a configured limit (HTTP 422 naming the limit)."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    """Map validation errors, HTTP errors, docqa's errors and anything unexpected to JSON bodies."""

    async def validation(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _loc(item.get("loc", ())), "msg": str(item.get("msg", ""))} for item in error.errors()]
        first = errors[0] if errors else {"loc": "body", "msg": "invalid request"}
        return JSONResponse({"detail": f"{first['loc']}: {first['msg']}", "errors": errors}, status_code=422)

    async def http(_: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    async def docqa(_: Request, error: DocqaError) -> JSONResponse:
        status, headers = _status(error, retry_after)
        body: dict[str, Any] = {"detail": _one_line(str(error))}
        if isinstance(error, RequestError):
            body["errors"] = error.details
        elif isinstance(error, LimitExceeded):
            body["errors"] = [{"loc": error.loc, "msg": body["detail"]}]
        return JSONResponse(body, status_code=status, headers=headers)

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.exception("docqa serve: unexpected error", exc_info=error)
        return JSONResponse({"detail": f"internal error ({type(error).__name__})"}, status_code=500)

    app.add_exception_handler(RequestValidationError, validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http)  # type: ignore[arg-type]
    app.add_exception_handler(DocqaError, docqa)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)


def _status(error: DocqaError, retry_after: int) -> tuple[int, dict[str, str] | None]:
    if isinstance(error, (ServerBusy, NotReady)):
        return 503, {"Retry-After": str(retry_after)}
    if isinstance(error, DuplicateDocumentError):
        return 409, None
    if isinstance(error, Unavailable):
        return 400, None
    return 422, None


def _loc(parts: Any) -> str:
    return ".".join(str(part) for part in parts) or "body"


def _one_line(text: str) -> str:
    return " ".join(text.split())
