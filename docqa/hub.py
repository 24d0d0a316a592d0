"""Models by hub id or local directory: the local copy first, the network only when it can answer.

Without these checks, a model id on a machine without network costs about a minute of retries inside
huggingface_hub before the inevitable failure; with them it fails in seconds, in one line.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from docqa.errors import ModelLoadError

T = TypeVar("T")

_TRUTHY = {"1", "true", "yes", "on"}


def offline_requested() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub's host accepts a TCP connection (``HF_ENDPOINT`` respected)."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # a direct connection says nothing about the proxy: let the hub client try
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_local_first(model: str, load: Callable[[str, bool], T], failure: Callable[[str], ModelLoadError]) -> T:
    """``load(name_or_path, local_files_only)`` for ``model``: a local directory as is; a hub id from the cache,
    else from the hub when it is reachable and ``HF_HUB_OFFLINE`` is not set. ``failure(reason)`` builds the
    error raised when neither can serve (other errors of ``load`` propagate)."""
    directory = Path(model).expanduser()
    if directory.is_dir():
        return load(str(directory), True)
    try:
        return load(model, True)
    except Exception as cached_error:
        if offline_requested():
            raise failure("HF_HUB_OFFLINE is set and no complete cached copy was found") from cached_error
        if not hub_reachable():
            raise failure("the Hugging Face Hub is unreachable and no cached copy was found") from cached_error
    return load(model, False)
