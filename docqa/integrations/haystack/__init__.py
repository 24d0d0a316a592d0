"""docqa in Haystack (haystack-ai 3.x, ``pip install "docqa[haystack]"``): its reader, stores and retrievers as
Haystack components and document stores, in Python and in Haystack's YAML.

* :class:`ExtractiveReader`: docqa's SQuAD 2.0 reader (every docqa reader setting) answering with Haystack
  ``ExtractedAnswer``s.
* :class:`InMemoryDocumentStore`, :class:`PostgresDocumentStore`: Haystack ``DocumentStore``s over docqa's stores
  (docqa's filters, which are Haystack 2.x's syntax).
* :class:`BM25Retriever`, :class:`EmbeddingRetriever`: docqa's keyword and embedding search on those stores.

Their init parameters are their docqa classes' (derived from the signatures, see
:mod:`docqa.integrations.haystack.serialization`), so ``Pipeline.dumps()`` / ``Pipeline.loads()`` round-trip them.
Haystack 3 loads classes only from allowlisted modules: pass ``allowed_modules=["docqa.integrations.haystack"]`` to
``Pipeline.loads`` / ``Pipeline.load`` (or call ``haystack.core.serialization.allow_deserialization_module(
"docqa.integrations.haystack")`` once, or set ``HAYSTACK_DESERIALIZATION_ALLOWLIST=docqa.integrations.haystack``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

try:
    import haystack  # noqa: F401
except ImportError as error:  # pragma: no cover - only without the extra
    raise ImportError(
        f"docqa.integrations.haystack needs haystack-ai: pip install 'docqa[haystack]' ({error})"
    ) from None

from docqa.integrations.haystack.bm25_retriever import BM25Retriever
from docqa.integrations.haystack.document_store import (
    DocqaDocumentStore,
    DocumentStoreError,
    DuplicateDocumentError,
    FilterError,
)
from docqa.integrations.haystack.embedding_retriever import EmbeddingRetriever
from docqa.integrations.haystack.extractive_reader import ExtractiveReader
from docqa.integrations.haystack.in_memory_document_store import InMemoryDocumentStore

#: The module pattern to allow when loading pipelines that use these classes (Haystack 3's allowlist).
ALLOWED_MODULE = "docqa.integrations.haystack"

__all__ = [
    "ALLOWED_MODULE",
    "BM25Retriever",
    "DocqaDocumentStore",
    "DocumentStoreError",
    "DuplicateDocumentError",
    "EmbeddingRetriever",
    "ExtractiveReader",
    "FilterError",
    "InMemoryDocumentStore",
    "PostgresDocumentStore",
]

if TYPE_CHECKING:
    from docqa.integrations.haystack.postgres_document_store import PostgresDocumentStore


def __getattr__(name: str) -> Any:
    if name == "PostgresDocumentStore":  # imported on first use: the in-memory store needs no psycopg
        return importlib.import_module("docqa.integrations.haystack.postgres_document_store").PostgresDocumentStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
