"""Loading a question-answering model and its fast tokenizer; failing fast, in one line, when impossible."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from docqa.errors import ModelLoadError

_TRUTHY = {"1", "true", "yes", "on"}


def _offline_requested() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub's host accepts a TCP connection: without this check an unreachable hub costs ~1 minute
    of retries inside huggingface_hub before the inevitable failure."""
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


@contextmanager
def _without_progress_bars() -> Iterator[None]:
    """transformers draws a "Loading weights" bar on stderr for every load: noise in a CLI's output."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_pair(model: str, local_files_only: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    with _without_progress_bars():
        tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local_files_only)
        qa_model = AutoModelForQuestionAnswering.from_pretrained(model, local_files_only=local_files_only)
    return qa_model, tokenizer


def _failure(model: str, reason: str) -> ModelLoadError:
    reason = " ".join(reason.split())[:300]
    return ModelLoadError(
        f"could not load question-answering model {model!r} ({reason}); pass a local directory "
        f'(model="/path", CLI --model PATH) or set HF_HUB_OFFLINE=1 with a cached copy'
    )


def load_qa_model(model: str) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local directory or a hub id, trying the local cache before the
    network.

    Raises :class:`ModelLoadError` (one line, naming ``model``) when it cannot be loaded or the tokenizer is
    not a fast one (character offsets are needed to map answers back into documents).
    """
    try:
        if Path(model).expanduser().is_dir():
            pair = _load_pair(str(Path(model).expanduser()), local_files_only=True)
        else:
            pair = _load_from_hub(model)
    except ModelLoadError:
        raise
    except Exception as error:  # transformers raises OSError, ValueError, KeyError... for unusable models
        raise _failure(model, f"{type(error).__name__}: {error}") from error
    if not getattr(pair[1], "is_fast", False):
        raise _failure(model, "its tokenizer is not a fast tokenizer, which character offsets need")
    return pair


def _load_from_hub(model: str) -> tuple[Any, Any]:
    try:
        return _load_pair(model, local_files_only=True)
    except Exception as cached_error:
        if _offline_requested():
            raise _failure(model, "HF_HUB_OFFLINE is set and no complete cached copy was found") from cached_error
        if not _hub_reachable():
            raise _failure(model, "the Hugging Face Hub is unreachable and no cached copy was found") from cached_error
    return _load_pair(model, local_files_only=False)
