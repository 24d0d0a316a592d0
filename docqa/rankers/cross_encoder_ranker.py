"""Re-rank documents with a cross-encoder that reads the query and each document together."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.special import expit

from docqa.core.component import component
from docqa.core.validation import check_int
from docqa.embedders._models import load_cross_encoder, text_to_embed
from docqa.errors import ComponentError
from docqa.hub import check_dtype
from docqa.schema import Document


@component
class CrossEncoderRanker:
    """Score each ``(query, document)`` pair with a cross-encoder and return the documents best first.

    ``score`` is the model's relevance logit, or ``sigmoid(logit)`` (a probability in ``(0, 1)``) when
    ``scale_score=True``; sigmoid is monotonic, so the order is the same either way. Meta fields listed in
    ``meta_fields_to_embed`` are put before the content, joined by ``embedding_separator``. Returns scored
    copies; the inputs are left untouched. The model must have a single output label (relevance).
    ``dtype``: the model's precision (see :func:`docqa.hub.resolve_dtype`: ``"auto"`` is bfloat16 on a
    CUDA GPU that runs it natively, float32 elsewhere; a half precision the device cannot run natively is an
    error).

    >>> ranker = CrossEncoderRanker(model="cross-encoder/ms-marco-MiniLM-L-6-v2", top_k=3)
    >>> ranker.run("who wrote hamlet?", [])  # no documents: the model is not even loaded
    {'documents': []}
    """

    def __init__(
        self,
        model: str = "cross-encoder/ms-marco-MiniLM-L-6-v2",
        top_k: int = 10,
        batch_size: int = 32,
        scale_score: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        device: str = "auto",
        dtype: str = "auto",
        score_threshold: float | None = None,
    ) -> None:
        check_int("CrossEncoderRanker", "top_k", top_k)
        check_int("CrossEncoderRanker", "batch_size", batch_size)
        self.model = model
        self.top_k = top_k
        self.batch_size = batch_size
        self.scale_score = scale_score
        self.meta_fields_to_embed = list(meta_fields_to_embed) if meta_fields_to_embed is not None else []
        self.embedding_separator = embedding_separator
        self.device = device
        self.dtype = check_dtype("CrossEncoderRanker", dtype)
        self.score_threshold = score_threshold
        self._cross_encoder: Any = None

    def warm_up(self) -> None:
        if self._cross_encoder is None:
            encoder = load_cross_encoder(self.model, self.device, self.dtype, "CrossEncoderRanker")
            if encoder.num_labels != 1:
                raise ComponentError(
                    f"CrossEncoderRanker: model {self.model!r} has {encoder.num_labels} output labels; "
                    "a relevance ranker needs exactly 1"
                )
            self._cross_encoder = encoder

    def logits(self, query: str, documents: list[Document]) -> np.ndarray:
        """The model's raw relevance logit for each document, in input order."""
        return self._pair_logits([(query, doc) for doc in documents])

    def _pair_logits(self, pairs: list[tuple[str, Document]]) -> np.ndarray:
        import torch

        self.warm_up()
        texts = [
            [query, text_to_embed(doc.content, doc.meta, self.meta_fields_to_embed, self.embedding_separator)]
            for query, doc in pairs
        ]
        raw = self._cross_encoder.predict(
            texts,
            batch_size=self.batch_size,
            activation_fn=torch.nn.Identity(),  # we apply sigmoid ourselves, so raw logits stay available
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(raw, dtype=np.float64).reshape(len(pairs))

    @component.output_types(documents=list[Document])
    def run(self, query: str, documents: list[Document], top_k: int | None = None) -> dict[str, list[Document]]:
        return {"documents": self.run_batch([query], [documents], top_k)["documents"][0]}

    def run_batch(
        self, query: list[str], documents: list[list[Document]], top_k: int | None = None
    ) -> dict[str, list[list[Document]]]:
        """:meth:`run` for several queries (``documents[i]`` for ``query[i]``), every pair scored in one model
        call (``Pipeline.run_batch`` and the server's micro-batching use it)."""
        limit = self.top_k if top_k is None else check_int("CrossEncoderRanker", "top_k", top_k)
        if len(query) != len(documents):
            raise ComponentError(f"CrossEncoderRanker: got {len(query)} queries but {len(documents)} document lists")
        for text in query:
            if not isinstance(text, str):
                raise ComponentError(f"CrossEncoderRanker: query must be a string, not {type(text).__name__}")
        pairs = [(text, doc) for text, docs in zip(query, documents, strict=True) for doc in docs]
        logits = self._pair_logits(pairs) if pairs else np.zeros(0)
        bounds = np.cumsum([0, *(len(docs) for docs in documents)])
        ranked = [self._ranked(docs, logits[bounds[i] : bounds[i + 1]], limit) for i, docs in enumerate(documents)]
        return {"documents": ranked}

    def _ranked(self, documents: list[Document], logits: np.ndarray, limit: int) -> list[Document]:
        scores = expit(logits) if self.scale_score else logits
        order = np.argsort(-scores, kind="stable")
        ranked = [
            dataclasses.replace(documents[i], score=float(scores[i]), meta=dict(documents[i].meta)) for i in order
        ]
        if self.score_threshold is not None:
            ranked = [doc for doc in ranked if doc.score is not None and doc.score >= self.score_threshold]
        return ranked[:limit]
