"""Documents between Haystack and docqa: the same id, text, metadata, score and embedding.

docqa's documents are text; a Haystack document is written to a docqa store only if all it holds survives the trip
(text, no ``blob``, no ``sparse_embedding``): :func:`to_docqa` refuses the rest with a ``ValueError`` naming the
document, rather than dropping part of it. Embeddings come back as float32 values (the precision docqa's stores and
pgvector keep). The reader reads text only, so :func:`to_reader_document` takes any document (one without text is
skipped by the reader, as a blank one is).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from haystack import Document as HaystackDocument

from docqa.schema import Document


def to_docqa(document: Any, where: str) -> Document:
    """``document`` (a Haystack document) for a docqa store; ``ValueError`` if docqa cannot keep all of it."""
    if not isinstance(document, HaystackDocument):
        raise ValueError(f"{where} is a {type(document).__name__}, not a haystack Document")
    if document.content is None:
        raise ValueError(f"{where} (id {document.id}) has no text content: docqa stores text documents")
    for field in ("blob", "sparse_embedding"):
        if getattr(document, field) is not None:
            raise ValueError(f"{where} (id {document.id}) has a {field}, which docqa stores cannot keep")
    return Document(
        content=document.content,
        meta=dict(document.meta),
        id=document.id,
        score=document.score,
        embedding=document.embedding,
    )


def to_reader_document(document: HaystackDocument) -> Document:
    """The text of ``document`` for docqa's reader (empty when it has none), with its id and metadata."""
    return Document(content=document.content or "", meta=document.meta, id=document.id)


def to_haystack(document: Document) -> HaystackDocument:
    """A docqa document (as a store or retriever returns it) as a Haystack document."""
    embedding = document.embedding
    if embedding is not None:
        embedding = np.asarray(embedding).tolist()
    return HaystackDocument(
        id=document.id,
        content=document.content,
        meta=dict(document.meta),
        score=document.score,
        embedding=embedding,
    )
