"""PostgreSQL + pgvector document store (the ``postgres`` extra): ``PostgresDocumentStore``, DSN helpers."""

from __future__ import annotations

from docqa.document_stores.postgres.dsn import is_postgres_spec, redact_dsn, resolve_dsn
from docqa.document_stores.postgres.store import PostgresDocumentStore

__all__ = ["PostgresDocumentStore", "is_postgres_spec", "redact_dsn", "resolve_dsn"]
