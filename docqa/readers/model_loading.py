"""Loading a question-answering model and its fast tokenizer; failing fast, in one line, when impossible."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from docqa.errors import ModelLoadError
from docqa.hub import load_local_first


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
        pair = load_local_first(model, _load_pair, lambda reason: _failure(model, reason))
    except ModelLoadError:
        raise
    except Exception as error:  # transformers raises OSError, ValueError, KeyError... for unusable models
        raise _failure(model, f"{type(error).__name__}: {error}") from error
    if not getattr(pair[1], "is_fast", False):
        raise _failure(model, "its tokenizer is not a fast tokenizer, which character offsets need")
    return pair
