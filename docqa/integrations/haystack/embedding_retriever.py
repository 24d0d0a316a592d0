"""docqa's embedding retrieval (exact, or HNSW) as a Haystack component."""

from __future__ import annotations

from typing import Any

from haystack import Document, component

from docqa.integrations.haystack.retriever import DOCUMENT_STORE, FILTER_POLICY, DocqaRetriever
from docqa.integrations.haystack.serialization import init_signature
from docqa.retrievers.embedding_retriever import EmbeddingRetriever as DocqaEmbeddingRetriever


@component
@init_signature(DocqaEmbeddingRetriever, replace={"document_store": DOCUMENT_STORE}, own=[FILTER_POLICY])
class EmbeddingRetriever(DocqaRetriever):
    """The ``top_k`` documents of a docqa store nearest to a query embedding: the parameters of
    :class:`docqa.retrievers.EmbeddingRetriever` (``top_k``, ``similarity``, ``filters``, ``ann``...) and Haystack's
    ``filter_policy``. Embed the query with the model that embedded the documents (e.g. Haystack's
    ``SentenceTransformersTextEmbedder`` -> ``query_embedding``).

    >>> from haystack import Document
    >>> from docqa.integrations.haystack import InMemoryDocumentStore
    >>> store = InMemoryDocumentStore()
    >>> store.write_documents([Document(content="x", embedding=[1.0, 0.0]),
    ...                        Document(content="y", embedding=[0.0, 1.0])])
    2
    >>> [d.content for d in EmbeddingRetriever(store, top_k=1).run([0.9, 0.1])["documents"]]
    ['x']
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._setup(DocqaEmbeddingRetriever, self._bind(args, kwargs))

    @component.output_types(documents=list[Document])
    def run(
        self, query_embedding: list[float], filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """The documents nearest to ``query_embedding``, best first, ``score`` set; ``filters`` and ``top_k`` for
        this run."""
        return self._retrieve(query_embedding, filters, top_k)
