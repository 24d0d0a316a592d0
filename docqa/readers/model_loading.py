"""Loading a question-answering model and its fast tokenizer; failing fast, in one line, when impossible."""

from __future__ import annotations

from typing import Any

from docqa.hub import QA_HEAD, load_transformers_model


def load_qa_model(model: str, dtype: Any = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local directory or a hub id, trying the local cache before the
    network (see :func:`docqa.hub.load_transformers_model`).

    Raises :class:`ModelLoadError` (one line, naming ``model``) when it cannot be loaded, when the checkpoint
    has no question-answering head (``qa_outputs`` weights: transformers would add a random one), or when the
    tokenizer is not a fast one (character offsets are needed to map answers back into documents).
    ``dtype``: the ``torch.dtype`` to load the weights in (transformers' own ``dtype=``; ``None``: float32).
    """
    from transformers import AutoModelForQuestionAnswering

    return load_transformers_model(
        model, AutoModelForQuestionAnswering, "question-answering model", head=QA_HEAD, fast_tokenizer=True, dtype=dtype
    )
