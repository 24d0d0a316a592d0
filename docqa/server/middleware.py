"""ASGI middleware: the request body size limit (413 before the app sees the body) and request metrics."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docqa.server.limits import LINGER_SECONDS
from docqa.server.metrics import ServerMetrics


async def send_json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    payload = json.dumps(body).encode("utf-8")
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Reads the whole body first, refusing it with 413 past ``max_bytes`` (by Content-Length or as it streams
    in); then hands the app the buffered body, and later ``receive`` calls (disconnect detection) go through.

    A refused body is read to its end (and dropped) before the 413 is sent, for up to ``LINGER_SECONDS``: a
    client still sending would otherwise see the connection reset instead of the answer (closing a socket with
    unread data resets it)."""

    def __init__(self, app: ASGIApp, max_bytes: int, linger_seconds: float = LINGER_SECONDS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.linger_seconds = linger_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(receive, send)
            return
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_bytes:
                await self._refuse(receive, send, more=message.get("more_body", False))
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, receive: Receive, send: Send, more: bool = True) -> None:
        if more and not await _drained(receive, self.linger_seconds):
            return  # still sending after the linger, or gone: nothing more to say to it
        detail = f"request body exceeds the limit of {self.max_bytes} bytes (--max-body-bytes)"
        await send_json(send, 413, {"detail": detail}, [(b"connection", b"close")])


async def _drained(receive: Receive, seconds: float) -> bool:
    """Read and drop the rest of a body; False if the client left or was still sending ``seconds`` later."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(receive(), timeout=left)
        except asyncio.TimeoutError:
            return False
        if message["type"] != "http.request":
            return False
        if not message.get("more_body", False):
            return True
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class MetricsMiddleware:
    """Counts every HTTP response by route template and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        asked = dict(scope)  # as it came in: routing rewrites root_path for mounts
        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope.get("route"), asked)
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - started)


def _route(route: Any, scope: Scope) -> str:
    """The template of the route that answered (``/documents/search``...), ``unmatched`` for none. FastAPI's own
    routes (``/openapi.json``) and mounts (``/static``) do not record themselves in the scope: they are matched
    here."""
    if route is None:
        router = getattr(scope.get("app"), "router", None)
        found = (candidate for candidate in getattr(router, "routes", []) if candidate.matches(scope)[0] is Match.FULL)
        route = next(found, None)
    return getattr(route, "path", None) or "unmatched"
