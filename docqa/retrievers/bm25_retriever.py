"""Keyword retrieval from any store with the capability: BM25 in docqa's own stores, full-text search in others."""

from __future__ import annotations

from typing import Any

from docqa.core.component import component
from docqa.core.validation import check_int
from docqa.document_stores.base import BM25ScoringStore, KeywordRetrievalStore
from docqa.document_stores.bm25_index import BM25Params
from docqa.document_stores.filters import validate_filters
from docqa.errors import ComponentError, DocqaError
from docqa.schema import Document


@component
class BM25Retriever:
    """The ``top_k`` documents of a store that best match a query under BM25 (rank-bm25's exact scores).

    ``variant`` is ``"okapi"`` (default), ``"bm25l"`` or ``"bm25plus"``; ``delta=None`` takes the variant's
    default. ``filters`` (Haystack 2.x syntax, see :mod:`docqa.document_stores.filters`) are validated here and
    apply to every run unless a run passes its own.

    Any :class:`~docqa.document_stores.base.KeywordRetrievalStore` works; the BM25 parameters apply to stores that
    score BM25 themselves (:class:`~docqa.document_stores.base.BM25ScoringStore`: the in-memory one, and
    PostgreSQL in its default ``keyword_mode="bm25"``), and a store ranking by its own formula (PostgreSQL's
    ``ts_rank_cd`` modes) takes only the default ones.

    >>> from docqa.document_stores import InMemoryDocumentStore
    >>> store = InMemoryDocumentStore()
    >>> store.write_documents([
    ...     Document("Paris is in France.", meta={"lang": "en"}),
    ...     Document("Rome is in Italy."),
    ...     Document("Berlin is in Germany.", meta={"lang": "en"}),
    ... ])
    3
    >>> retriever = BM25Retriever(store, top_k=1)
    >>> [doc.content for doc in retriever.run("Rome, Italy")["documents"]]
    ['Rome is in Italy.']
    >>> retriever.run("Rome, Italy", filters={"field": "meta.lang", "operator": "==", "value": "en"})["documents"]
    []
    """

    def __init__(
        self,
        document_store: KeywordRetrievalStore,
        top_k: int = 10,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
        filters: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(document_store, KeywordRetrievalStore):
            raise ComponentError(
                f"BM25Retriever needs a store with keyword_retrieval(), got {type(document_store).__name__}"
            )
        top_k = check_int("BM25Retriever", "top_k", top_k)
        try:
            self._params = BM25Params(variant, k1, b, epsilon, delta)
            if filters is not None:
                validate_filters(filters)
        except DocqaError as error:
            raise ComponentError(f"BM25Retriever: {error}") from None
        self._bm25 = _scores_bm25(document_store)
        if not self._bm25 and self._params != BM25Params():
            raise ComponentError(
                f"BM25Retriever: {type(document_store).__name__} ranks with its own formula; "
                "variant, k1, b, epsilon and delta cannot be set for it"
            )
        self.document_store = document_store
        self.top_k = top_k
        self.filters = filters

    def warm_up(self) -> None:
        """Precompute the store's BM25 score matrix for this configuration (optional: queries do it lazily)."""
        if self._bm25:
            self.document_store.prepare_bm25(**self._param_kwargs())  # type: ignore[attr-defined]

    def _param_kwargs(self) -> dict[str, Any]:
        params = self._params
        delta = None if params.variant == "okapi" else params.delta
        return {"variant": params.variant, "k1": params.k1, "b": params.b, "epsilon": params.epsilon, "delta": delta}

    @component.output_types(documents=list[Document])
    def run(self, query: str, top_k: int | None = None, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Retrieve; ``top_k`` / ``filters`` given here replace the ones set at init for this run."""
        effective_top_k = self.top_k if top_k is None else check_int("BM25Retriever", "top_k", top_k)
        effective_filters = self.filters if filters is None else filters
        store = self.document_store
        if self._bm25:
            documents = store.bm25_retrieval(  # type: ignore[attr-defined]
                query, top_k=effective_top_k, filters=effective_filters, **self._param_kwargs()
            )
        else:
            documents = store.keyword_retrieval(query, top_k=effective_top_k, filters=effective_filters)
        return {"documents": documents}


def _scores_bm25(store: KeywordRetrievalStore) -> bool:
    """Whether ``store`` ranks keyword queries by BM25 itself (a store with other keyword modes says which)."""
    return isinstance(store, BM25ScoringStore) and getattr(store, "keyword_mode", "bm25") == "bm25"
