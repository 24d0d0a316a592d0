"""PostgreSQL + pgvector document store (the ``postgres`` extra): ``PostgresDocumentStore``, DSN helpers.

The store is imported on first use, so recognizing a DSN (:func:`is_postgres_spec`) needs no psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docqa.document_stores.postgres.dsn import is_postgres_spec, redact_dsn, resolve_dsn

if TYPE_CHECKING:
    from docqa.document_stores.postgres.store import PostgresDocumentStore

__all__ = ["PostgresDocumentStore", "is_postgres_spec", "redact_dsn", "resolve_dsn"]


def __getattr__(name: str) -> Any:
    if name == "PostgresDocumentStore":
        from docqa.document_stores.postgres.store import PostgresDocumentStore

        return PostgresDocumentStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
