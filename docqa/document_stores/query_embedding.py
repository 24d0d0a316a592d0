"""The one check of a query embedding, shared by every store that retrieves by embedding."""

from __future__ import annotations

from typing import Any

import numpy as np

from docqa.errors import DocumentStoreError


def check_query_embedding(query_embedding: Any, dim: int | None, similarity: str) -> np.ndarray:
    """``query_embedding`` as a float32 vector of the stored dimension ``dim``, or a one-line error.

    >>> check_query_embedding([1, 0], 2, "cosine").dtype
    dtype('float32')
    """
    if dim is None:
        raise DocumentStoreError("embedding retrieval: no document in the store has an embedding")
    try:
        query = np.asarray(query_embedding, dtype=np.float32)
    except (TypeError, ValueError):
        raise DocumentStoreError("embedding retrieval: the query embedding is not a list of numbers") from None
    if query.ndim != 1 or len(query) != dim:
        raise DocumentStoreError(
            f"embedding retrieval: query embedding has dimension {query.shape}, stored embeddings have {dim}"
        )
    if not np.isfinite(query).all():
        raise DocumentStoreError("embedding retrieval: the query embedding contains NaN or infinite values")
    if similarity == "cosine" and not query.any():
        raise DocumentStoreError("embedding retrieval: cosine similarity is undefined for an all-zero query")
    return query
