"""Masked-LM logits at the mask positions only.

A masked LM's head ends in a vocabulary projection (``model.get_output_embeddings()``: BERT's
``cls.predictions.decoder``, RoBERTa's ``lm_head.decoder``, DistilBERT's ``vocab_projector``) applied to every
position; for distilbert-base that projection costs about half as much as all six layers together. Everything
before it is position-wise, so feeding the projection only the mask positions' hidden states gives the same
logits for those positions at a fraction of the cost.
"""

from __future__ import annotations

from typing import Any


def mask_logits(model: Any, inputs: dict[str, Any], rows: Any, columns: Any) -> Any:
    """``(masks, vocabulary)`` logits of ``model`` at positions ``(rows[i], columns[i])`` of the batch."""
    projection = model.get_output_embeddings()
    gathered: list[bool] = []

    def only_masks(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        hidden = args[0]
        if hidden.dim() != 3:  # not the (batch, length, hidden) input expected: leave it alone
            return None
        gathered.append(True)
        return (hidden[rows, columns].unsqueeze(0), *args[1:])

    handle = projection.register_forward_pre_hook(only_masks) if projection is not None else None
    try:
        logits = model(**inputs).logits
    finally:
        if handle is not None:
            handle.remove()
    return logits[0] if gathered else logits[rows, columns]
