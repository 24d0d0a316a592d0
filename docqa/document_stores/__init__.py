"""Document stores: where documents live, with BM25 and embedding search."""

from __future__ import annotations

from docqa.document_stores.base import DocumentStore, DuplicatePolicy
from docqa.document_stores.filters import document_matches, filter_mask, validate_filters
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.document_stores.opening import open_document_store

__all__ = [
    "DocumentStore",
    "DuplicatePolicy",
    "InMemoryDocumentStore",
    "document_matches",
    "filter_mask",
    "open_document_store",
    "validate_filters",
]
