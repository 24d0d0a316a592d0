"""Every error as a one-line JSON body ``{"detail": ...}`` (``errors`` listing each problem of a request that does
not validate); never a stack trace. Validation errors, FastAPI's and the server's own, go through one converter
(:func:`docqa.formats.requests.request_error`); a body that is not JSON at all is a 400."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from docqa.errors import DocqaError, DuplicateDocumentError, RequestError
from docqa.formats.requests import request_error
from docqa.server.batching import ServerBusy
from docqa.server.limits import LimitExceeded
from docqa.server.state import LoadFailed, NotReady, Unavailable

logger = logging.getLogger("docqa.server")

#: The answer to a request whose client went away first (nginx's "client closed request": never read).
CLIENT_GONE = 499


class MalformedBody(DocqaError):
    """The body is not JSON (HTTP 400): where it breaks, in one line."""


class ClientGone(DocqaError):
    """The client disconnected before its answer was ready: its model calls were cancelled."""


def validation_error(errors: Sequence[Mapping[str, Any]], body: Any = None) -> DocqaError:
    """FastAPI's validation errors as one of docqa's: 400 for a body that is not JSON, else 422 naming fields."""
    for item in errors:
        if item.get("type") == "json_invalid":
            loc = tuple(item.get("loc", ()))
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
            reason = str(item.get("ctx", {}).get("error", "not valid JSON"))
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
            return MalformedBody(_where(text, position, reason))
    return request_error(errors)


def _where(text: str, position: int, reason: str) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"body: not valid JSON ({reason} at line {line}, column {column})"


def parse_body(model: type[BaseModel], text: bytes) -> Any:
    """``text`` (a request body) parsed as JSON and validated as ``model``, failing as FastAPI's own bodies do."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        reason, position = (error.msg, error.pos) if isinstance(error, json.JSONDecodeError) else ("not UTF-8", 0)
        raise MalformedBody(_where(text.decode("utf-8", "replace"), position, reason)) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise request_error(error, prefix="body") from None


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    """Map validation errors, HTTP errors, docqa's errors and anything unexpected to JSON bodies."""

    async def validation(request: Request, error: RequestValidationError) -> Response:
        return await docqa(request, validation_error(error.errors(), error.body))

    async def http(_: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    async def docqa(_: Request, error: DocqaError) -> Response:
        if isinstance(error, ClientGone):
            return Response(status_code=CLIENT_GONE)
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
    if isinstance(error, LoadFailed):
        return 503, None
    if isinstance(error, DuplicateDocumentError):
        return 409, None
    if isinstance(error, (Unavailable, MalformedBody)):
        return 400, None
    return 422, None


def _one_line(text: str) -> str:
    return " ".join(text.split())
