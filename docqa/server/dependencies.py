"""What the routers get through ``Depends``: the server's state, and the API-key checks for reads and writes.

They are ``async`` although they never await: FastAPI runs a plain ``def`` dependency on a worker thread, a hop
per dependency and request (about 0.4 ms of a /score call on 2 cores)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from docqa.server.auth import check_key
from docqa.server.state import ServerState


async def get_state(request: Request) -> ServerState:
    """The state of the application serving ``request`` (set by :func:`~docqa.server.create_app`)."""
    state: ServerState = request.app.state.docqa
    return state


State = Annotated[ServerState, Depends(get_state)]


async def reads(request: Request, state: State) -> None:
    """A read: needs the API key only with ``--api-key-for-reads``."""
    check_key(request, state.config, write=False)


async def writes(request: Request, state: State) -> None:
    """A write: needs the API key when one is set, and a server that allows writes."""
    check_key(request, state.config, write=True)
    if not state.writes_allowed:
        raise HTTPException(403, "writes are disabled on this server (read-only, or a store without a path)")
