"""docqa's PostgreSQL + pgvector store as a Haystack store (the ``postgres`` extra)."""

from __future__ import annotations

import inspect
from typing import Any

from haystack.utils import Secret

from docqa.document_stores.postgres import redact_dsn
from docqa.document_stores.postgres.store import PostgresDocumentStore as DocqaPostgresDocumentStore
from docqa.integrations.haystack.document_store import DocqaDocumentStore, DocumentStoreError, translated_errors
from docqa.integrations.haystack.serialization import init_signature

_DSN = inspect.signature(DocqaPostgresDocumentStore).parameters["dsn"].replace(annotation="Secret | str")


@init_signature(DocqaPostgresDocumentStore, replace={"dsn": _DSN})
class PostgresDocumentStore(DocqaDocumentStore):
    """A Haystack document store over :class:`docqa.document_stores.postgres.PostgresDocumentStore` (the same
    parameters): full-text keyword search, pgvector HNSW embedding search, JSONB metadata filters.

    ``dsn`` is docqa's (a connection string, or ``env:VARIABLE``, by default ``env:DOCQA_PG_DSN``) or a Haystack
    ``Secret`` (``Secret.from_env_var("PG_CONN_STR")``). What ``to_dict`` (and so a dumped pipeline) holds is the
    ``env:`` reference, the secret's environment variable names, or the connection string without its password:
    never a password. The table is created on first use; the connection opens when the store is built.

    Example (needs a server)::

        store = PostgresDocumentStore(dsn=Secret.from_env_var("PG_CONN_STR"), table="docs")
        retriever = BM25Retriever(document_store=store)  # full-text search (ts_rank_cd)
    """

    store: DocqaPostgresDocumentStore

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = self._bind(args, kwargs)
        dsn = settings.pop("dsn")
        if isinstance(dsn, Secret):
            conninfo = dsn.resolve_value()
            if not isinstance(conninfo, str) or not conninfo:
                raise DocumentStoreError("PostgresDocumentStore: the dsn secret resolved to no connection string")
        else:
            conninfo = dsn
            if isinstance(dsn, str):
                self._record("dsn", redact_dsn(dsn))
        with translated_errors():
            self.store = DocqaPostgresDocumentStore(conninfo, **settings)

    def close(self) -> None:
        """Close the store's connection pool."""
        self.store.close()
