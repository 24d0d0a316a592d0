"""docqa's BM25 retrieval (keyword search on PostgreSQL) as a Haystack component."""

from __future__ import annotations

from typing import Any

from haystack import Document, component

from docqa.integrations.haystack.retriever import DOCUMENT_STORE, FILTER_POLICY, DocqaRetriever
from docqa.integrations.haystack.serialization import init_signature
from docqa.retrievers.bm25_retriever import BM25Retriever as DocqaBM25Retriever


@component
@init_signature(DocqaBM25Retriever, replace={"document_store": DOCUMENT_STORE}, own=[FILTER_POLICY])
class BM25Retriever(DocqaRetriever):
    """The ``top_k`` documents of a docqa store that best match a query: :class:`docqa.retrievers.BM25Retriever`'s
    parameters (``top_k``, ``variant``, ``k1``, ``b``, ``epsilon``, ``delta``, ``filters``) and Haystack's
    ``filter_policy``. On the in-memory store, BM25 with rank-bm25's exact scores (precomputed, hundreds of times
    its speed); on PostgreSQL, full-text search ranked by ``ts_rank_cd`` (the BM25 parameters are then refused).

    >>> from haystack import Document
    >>> from docqa.integrations.haystack import InMemoryDocumentStore
    >>> store = InMemoryDocumentStore()
    >>> store.write_documents([Document(content="Rome is in Italy."), Document(content="Paris is in France.")])
    2
    >>> [d.content for d in BM25Retriever(store, top_k=1).run("Rome, Italy")["documents"]]
    ['Rome is in Italy.']
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._setup(DocqaBM25Retriever, self._bind(args, kwargs))

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """The best documents for ``query``, best first, ``score`` set; ``filters`` and ``top_k`` for this run."""
        return self._retrieve(query, filters, top_k)
