"""The document store contract, its optional capabilities (keyword and embedding retrieval, the embedding-model
record) as protocols that retrievers, pipelines and the CLI check for, and the duplicate-id policies."""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol, runtime_checkable

from docqa.schema import Document


class DuplicatePolicy(str, Enum):
    """What ``write_documents`` does with a document whose id is already stored (or repeated in the batch).

    - ``NONE``: the store's default, which is ``FAIL`` for every docqa store (as in Haystack).
    - ``SKIP``: keep the stored document, ignore the new one (within a batch, the first one wins).
    - ``OVERWRITE``: replace the stored document (within a batch, the last one wins).
    - ``FAIL``: raise :class:`~docqa.errors.DuplicateDocumentError` and write nothing from the batch.
    """

    NONE = "none"
    SKIP = "skip"
    OVERWRITE = "overwrite"
    FAIL = "fail"


@runtime_checkable
class DocumentStore(Protocol):
    """What retrievers and writers need from a store. Filters use the syntax of :mod:`docqa.document_stores.filters`."""

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Store ``documents``; return how many were written."""
        ...

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """All stored documents matching ``filters`` (all documents if ``None``)."""
        ...

    def count_documents(self) -> int: ...

    def delete_documents(self, ids: list[str]) -> None:
        """Delete the documents with these ids; unknown ids are ignored."""
        ...

    def get_documents_by_id(self, ids: list[str]) -> list[Document]:
        """The stored documents with these ids, in the order asked; unknown ids are left out."""
        ...


@runtime_checkable
class KeywordRetrievalStore(DocumentStore, Protocol):
    """A store that ranks documents against a text query (BM25, PostgreSQL full-text search, ...).

    Only documents sharing at least one term with the query are returned, best first, ``score`` set.
    """

    def keyword_retrieval(
        self, query: str, *, top_k: int = 10, filters: dict[str, Any] | None = None
    ) -> list[Document]: ...


@runtime_checkable
class BM25ScoringStore(KeywordRetrievalStore, Protocol):
    """A keyword store that computes BM25 itself, with settable parameters (``variant``, ``k1``, ``b``, ...)."""

    def bm25_retrieval(
        self,
        query: str,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> list[Document]: ...

    def prepare_bm25(
        self,
        *,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> None: ...


@runtime_checkable
class EmbeddingRetrievalStore(DocumentStore, Protocol):
    """A store that finds the documents nearest to a query embedding (``cosine`` or ``dot_product``)."""

    @property
    def embedding_dim(self) -> int | None:
        """The dimension of the stored embeddings (None while no stored document has one)."""
        ...

    def embedding_retrieval(
        self,
        query_embedding: Any,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        similarity: str = "cosine",
    ) -> list[Document]: ...


@runtime_checkable
class EmbeddingModelRecord(Protocol):
    """A store that remembers which model its embeddings came from, so that queries are embedded alike."""

    embedding_model: str | None


@runtime_checkable
class PersistentStore(Protocol):
    """A store whose writes only last once :meth:`save` is called (the in-memory store); others write through."""

    def save(self) -> Any: ...
