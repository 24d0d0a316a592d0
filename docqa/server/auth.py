"""API-key checks: ``Authorization: Bearer KEY``, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.exceptions import HTTPException

from docqa.server.config import ServerConfig

_UNAUTHORIZED = "missing or invalid API key"


def key_matches(header: str | None, key: str) -> bool:
    """Whether ``header`` is ``Bearer <key>`` (constant-time in the key).

    >>> key_matches("Bearer s3cret", "s3cret"), key_matches("Bearer guess", "s3cret"), key_matches(None, "s3cret")
    (True, False, False)
    """
    scheme, _, given = (header or "").partition(" ")
    return hmac.compare_digest(given.strip().encode("utf-8"), key.encode("utf-8")) and scheme.lower() == "bearer"


def check_key(request: Request, config: ServerConfig, *, write: bool) -> None:
    """Raise 401 when this request needs the API key and does not carry it."""
    if config.api_key is None or not (write or config.api_key_for_reads):
        return
    if not key_matches(request.headers.get("authorization"), config.api_key):
        raise HTTPException(401, _UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
