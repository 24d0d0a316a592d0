"""Haystack's ``DocumentStore`` protocol over a docqa store: the base of the in-memory and PostgreSQL adapters.

Filters are docqa's, whose syntax is Haystack 2.x's (``{"field": "meta.x", "operator": "==", "value": 1}``, logical
``AND``/``OR``/``NOT``; see :mod:`docqa.document_stores.filters`); an empty filter matches every document, as in
Haystack. Duplicate policies keep their meaning (``NONE`` is ``FAIL`` in docqa's stores). Errors are Haystack's
types (``FilterError``, ``DuplicateDocumentError``, ``DocumentStoreError``, ``ValueError`` for input that is not a
list of documents) and docqa's at once, so either framework's ``except`` catches them.

Embeddings are kept as float32, as docqa's stores (and pgvector) keep them: a document read back carries its
embedding rounded to float32, everything else exactly as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from haystack import Document as HaystackDocument
from haystack.document_stores import errors as haystack_errors
from haystack.document_stores.types import DuplicatePolicy as HaystackPolicy
from haystack.errors import FilterError as HaystackFilterError

from docqa import errors
from docqa.document_stores.base import DocumentStore, DuplicatePolicy
from docqa.integrations.haystack.documents import to_docqa, to_haystack
from docqa.integrations.haystack.serialization import Configured


class FilterError(HaystackFilterError, errors.FilterError):
    """A malformed filter (Haystack's ``FilterError`` and docqa's)."""


class DuplicateDocumentError(haystack_errors.DuplicateDocumentError, errors.DuplicateDocumentError):
    """A document id already stored under the ``FAIL`` policy (Haystack's error and docqa's)."""


class DocumentStoreError(haystack_errors.DocumentStoreError, errors.DocumentStoreError):
    """Any other failure of the docqa store (Haystack's ``DocumentStoreError`` and docqa's)."""


@contextmanager
def translated_errors() -> Iterator[None]:
    """Raise docqa's store errors as the classes above (both Haystack's and docqa's types)."""
    try:
        yield
    except errors.FilterError as error:
        raise FilterError(str(error)) from error
    except errors.DuplicateDocumentError as error:
        raise DuplicateDocumentError(str(error)) from error
    except errors.DocumentStoreError as error:
        raise DocumentStoreError(str(error)) from error


class DocqaDocumentStore(Configured):
    """A Haystack document store backed by a docqa store (:attr:`store`); subclasses open it from their parameters."""

    store: DocumentStore

    def count_documents(self) -> int:
        """How many documents are stored."""
        with translated_errors():
            return self.store.count_documents()

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[HaystackDocument]:
        """The stored documents matching ``filters`` (all when ``None`` or empty), in the order they were written."""
        with translated_errors():
            return [to_haystack(document) for document in self.store.filter_documents(filters or None)]

    def write_documents(self, documents: list[HaystackDocument], policy: HaystackPolicy = HaystackPolicy.NONE) -> int:
        """Store ``documents`` (all of them or, on error, none); return how many were written."""
        if isinstance(documents, (str, bytes, HaystackDocument)) or not isinstance(documents, (list, tuple)):
            raise ValueError(f"write_documents expects a list of haystack Documents, got {type(documents).__name__}")
        converted = [to_docqa(document, f"write_documents: item {i}") for i, document in enumerate(documents)]
        with translated_errors():
            return self.store.write_documents(converted, DuplicatePolicy(HaystackPolicy(policy).value))

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete the documents with these ids; ids not stored are ignored."""
        with translated_errors():
            self.store.delete_documents(list(document_ids))

    def delete_all_documents(self) -> None:
        """Delete every stored document."""
        self.delete_by_filter({})

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """How many stored documents match ``filters``."""
        return len(self._ids(filters))

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete the documents matching ``filters``; return how many."""
        ids = self._ids(filters)
        with translated_errors():
            self.store.delete_documents(ids)
        return len(ids)

    def _ids(self, filters: dict[str, Any]) -> list[str]:
        store: Any = self.store  # both docqa stores can leave the embeddings out
        with translated_errors():
            return [document.id for document in store.filter_documents(filters or None, return_embedding=False)]

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of the documents matching ``filters`` (rewritten in one batch, so all or
        none change; a concurrent writer's change to the same documents in between is overwritten); return how
        many."""
        with translated_errors():
            matching = self.store.filter_documents(filters or None)
            for document in matching:
                document.meta.update(meta)
            self.store.write_documents(matching, DuplicatePolicy.OVERWRITE)
        return len(matching)
