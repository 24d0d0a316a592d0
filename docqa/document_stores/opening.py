"""Opening a store from the text that names it (a ``--store`` value, a batch job's setting)."""

from __future__ import annotations

import os

from docqa.document_stores.base import DocumentStore
from docqa.document_stores.postgres import is_postgres_spec


def open_document_store(spec: str | os.PathLike[str]) -> DocumentStore:
    """The store ``spec`` names: a PostgreSQL DSN (``postgresql://...``, ``env:VAR``) or a saved store directory.

    Raises a one-line :class:`~docqa.errors.DocqaError` when it cannot be opened.
    """
    text = os.fspath(spec)
    if is_postgres_spec(text):
        from docqa.document_stores.postgres import PostgresDocumentStore

        return PostgresDocumentStore(text)
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    return InMemoryDocumentStore.load(text)
