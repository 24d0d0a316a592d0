"""Dense retrieval: the documents whose embeddings are most similar to a query embedding."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from docqa.core.component import component
from docqa.core.validation import check_int
from docqa.document_stores.base import EmbeddingRetrievalStore
from docqa.errors import ComponentError, DocumentStoreError
from docqa.schema import Document

Similarity = Literal["cosine", "dot_product"]

_NO_EMBEDDINGS = (
    "EmbeddingRetriever: no document in the store has an embedding; embed documents before writing them "
    "(SentenceTransformersDocumentEmbedder, or `docqa index --embed`)"
)


@component
class EmbeddingRetriever:
    """Retrieve the ``top_k`` documents most similar to ``query_embedding`` from a document store.

    Exact by default: the store scores every stored embedding. With ``ann=True`` an approximate HNSW index
    (:class:`docqa.retrievers.ann_index.AnnIndex`, needs the ``ann`` extra) is built from the store's
    embedding matrix on first use and rebuilt whenever the store changes (its ``revision``); candidates it
    finds are re-scored exactly, so scores are the same as in exact mode. With filters, the index over-fetches
    ``ann_overfetch * top_k`` candidates and keeps those that match; if fewer than ``top_k`` match, the search
    falls back to the exact one, so filters never silently shrink the result.

    A query of the wrong dimension, containing NaN/inf, or a store without embeddings raise an error rather
    than returning nothing.

    >>> from docqa.document_stores.in_memory import InMemoryDocumentStore
    >>> store = InMemoryDocumentStore()
    >>> _ = store.write_documents([Document("x", embedding=np.array([1.0, 0.0])),
    ...                            Document("y", embedding=np.array([0.0, 1.0]))])
    >>> [d.content for d in EmbeddingRetriever(store, top_k=1).run(np.array([0.9, 0.1]))["documents"]]
    ['x']
    """

    def __init__(
        self,
        document_store: EmbeddingRetrievalStore,
        top_k: int = 10,
        similarity: Similarity = "cosine",
        filters: dict[str, Any] | None = None,
        ann: bool = False,
        ann_ef_search: int = 128,
        ann_overfetch: int = 10,
    ) -> None:
        top_k = check_int("EmbeddingRetriever", "top_k", top_k)
        ann_ef_search = check_int("EmbeddingRetriever", "ann_ef_search", ann_ef_search)
        ann_overfetch = check_int("EmbeddingRetriever", "ann_overfetch", ann_overfetch)
        if similarity not in ("cosine", "dot_product"):
            raise ComponentError(
                f"EmbeddingRetriever: similarity must be 'cosine' or 'dot_product', not {similarity!r}"
            )
        if not isinstance(document_store, EmbeddingRetrievalStore):
            raise ComponentError(
                f"EmbeddingRetriever needs a document store with embedding_retrieval(), "
                f"not {type(document_store).__name__}"
            )
        if ann and not (hasattr(document_store, "revision") and hasattr(document_store, "embedding_matrix")):
            raise ComponentError(
                f"EmbeddingRetriever(ann=True) needs a store with embedding_matrix() and revision; "
                f"{type(document_store).__name__} has not: use ann=False"
            )
        self.document_store = document_store
        self.top_k = top_k
        self.similarity = similarity
        self.filters = filters
        self.ann = ann
        self.ann_ef_search = ann_ef_search
        self.ann_overfetch = ann_overfetch
        self._index: Any = None  # AnnIndex, built lazily
        self._index_revision: int | None = None

    def warm_up(self) -> None:
        """Build the ANN index now rather than on the first query (no-op in exact mode)."""
        if self.ann:
            self._current_index()

    @component.output_types(documents=list[Document])
    def run(
        self,
        query_embedding: np.ndarray | list[float],
        top_k: int | None = None,
        filters: dict[str, Any] | None = None,
    ) -> dict[str, list[Document]]:
        limit = self.top_k if top_k is None else check_int("EmbeddingRetriever", "top_k", top_k)
        query = self._check_query(query_embedding)
        active_filters = filters if filters is not None else self.filters
        if self.document_store.embedding_dim is None:
            raise DocumentStoreError(_NO_EMBEDDINGS)
        if not self.ann:
            documents = self.document_store.embedding_retrieval(
                query, top_k=limit, filters=active_filters, similarity=self.similarity
            )
        else:
            documents = self._ann_retrieval(query, limit, active_filters)
        return {"documents": documents}

    def _check_query(self, query_embedding: Any) -> np.ndarray:
        try:
            query = np.asarray(query_embedding, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ComponentError(f"EmbeddingRetriever: query_embedding is not a vector of numbers ({exc})") from exc
        if query.ndim != 1 or query.size == 0:
            raise ComponentError(
                f"EmbeddingRetriever: query_embedding must be a non-empty 1-D vector, got shape {query.shape}"
            )
        if not np.all(np.isfinite(query)):
            raise ComponentError("EmbeddingRetriever: query_embedding contains NaN or infinite values")
        if self.similarity == "cosine" and not np.any(query):
            raise ComponentError("EmbeddingRetriever: cosine similarity is undefined for an all-zero query_embedding")
        return query

    def _current_index(self) -> Any:
        from docqa.retrievers.ann_index import AnnIndex

        store: Any = self.document_store  # checked at init: has revision and embedding_matrix()
        revision = store.revision
        if self._index is None or self._index_revision != revision:
            matrix, ids = store.embedding_matrix()
            if len(ids) == 0:
                raise DocumentStoreError(_NO_EMBEDDINGS)
            self._index = AnnIndex(matrix, ids, similarity=self.similarity)
            self._index_revision = revision
        return self._index

    def _ann_retrieval(self, query: np.ndarray, limit: int, filters: dict[str, Any] | None) -> list[Document]:
        from docqa.document_stores.filters import filter_mask

        index = self._current_index()
        if query.shape[0] != index.dimension:
            raise ComponentError(
                f"EmbeddingRetriever: query_embedding has dimension {query.shape[0]} but the stored "
                f"embeddings have {index.dimension}; embed queries with the model that embedded the documents"
            )
        wanted = limit if filters is None else limit * self.ann_overfetch
        ids, scores = index.search(query, wanted, ef_search=max(self.ann_ef_search, wanted))
        documents = self.document_store.get_documents_by_id(ids)
        by_id = {doc.id: doc for doc in documents}
        hits = [(by_id[i], s) for i, s in zip(ids, scores, strict=True) if i in by_id]
        if filters is not None:
            mask = filter_mask(filters, [doc for doc, _ in hits])
            hits = [hit for hit, keep in zip(hits, mask, strict=True) if keep]
            if len(hits) < limit and len(ids) < index.size:
                # Too few candidates passed the filters: the exact search is the only way to be complete.
                return self.document_store.embedding_retrieval(
                    query, top_k=limit, filters=filters, similarity=self.similarity
                )
        return [dataclasses.replace(doc, score=float(score), meta=dict(doc.meta)) for doc, score in hits[:limit]]
