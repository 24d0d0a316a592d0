"""Opening a store from the text that names it (a ``--store`` value, a batch job's setting)."""

from __future__ import annotations

import os

from docqa.document_stores.base import DocumentStore
from docqa.document_stores.postgres import is_postgres_spec
from docqa.errors import DocumentStoreError


def open_document_store(spec: str | os.PathLike[str]) -> DocumentStore:
    """The store ``spec`` names: a PostgreSQL DSN (``postgresql://...``, ``env:VAR``) or a saved store directory.

    Raises a one-line :class:`~docqa.errors.DocqaError` when it cannot be opened (for a DSN without the
    ``postgres`` extra installed, one that says how to install it).
    """
    text = os.fspath(spec)
    if is_postgres_spec(text):
        try:
            from docqa.document_stores.postgres import PostgresDocumentStore

            return PostgresDocumentStore(text)
        except ImportError as error:
            raise DocumentStoreError(
                f"a PostgreSQL store needs the postgres extra (pip install 'docqa[postgres]'): {error}"
            ) from error
    from docqa.document_stores.in_memory import InMemoryDocumentStore

    return InMemoryDocumentStore.load(text)
