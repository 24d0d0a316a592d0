"""The PostgreSQL schema of a docqa table: DDL, the schema-version record, and the helper SQL function.

A docqa table ``T`` comes with its BM25 tables (schema version 2):

* ``T_bm25`` (``term``, ``doc_id``, ``tf``, ``len``): one row per (term, document holding it), keyed by
  ``(term, doc_id)`` with ``tf`` and ``len`` (the document's length in tokens) in the index, so that a query reads
  the index alone once the table is vacuumed. On Citus: distributed by ``doc_id``, co-located with ``T``
  (distributed by ``id``).
* ``T_bm25_terms`` (``term``, ``df``, ``peak_tf``, ``peak_len``): the live document frequency, and the peaks of the
  term's postings (see :mod:`docqa.document_stores.postings`; kept on writes, never lowered by deletes: still
  bounds).
* ``T_bm25_stats``: one row, the live document count, their total length, the longest document written, and the
  sum of okapi idfs over the live vocabulary (for rank-bm25's floor of negative idfs), kept by every write in its
  own transaction.

``T`` itself gains ``bm25_len`` and ``bm25_terms`` (the document's distinct terms, so that a delete finds its
postings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from docqa.errors import DocumentStoreError
from docqa.text.analyzer import Analyzer

SCHEMA_VERSION = 2
VERSIONS_TABLE = "docqa_schema_versions"
SIMILARITY_OPCLASS = {"cosine": "vector_cosine_ops", "dot_product": "vector_ip_ops"}
SIMILARITY_OPERATOR = {"cosine": "<=>", "dot_product": "<#>"}
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_DATE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION docqa_parse_date(value text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
  IF value !~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$' THEN
    RETURN NULL;
  END IF;
  IF value ~ '(Z|[+-]\d{2}:?\d{2})$' AND value ~ '[T ]' THEN
    RETURN extract(epoch FROM value::timestamptz);
  END IF;
  RETURN extract(epoch FROM (value::timestamp AT TIME ZONE 'UTC'));
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$fn$
"""


@dataclass(frozen=True)
class TableSettings:
    """What a docqa table was created with (one row of ``docqa_schema_versions``)."""

    version: int
    language: str
    similarity: str
    embedding_dim: int | None
    embedding_model: str | None
    analyzer: dict[str, Any] | None = None


def check_table_name(table: str) -> str:
    """``table`` if it is a plain lower-case SQL identifier; else DocumentStoreError."""
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise DocumentStoreError(
            f"PostgresDocumentStore: table {table!r} must be a lower-case identifier (letters, digits, _; <= 63)"
        )
    return table


def ensure_schema(conn: Connection[Any], table: str, wanted: TableSettings, hnsw: dict[str, int]) -> TableSettings:
    """Create the table (first use) or check it against ``wanted``; return its recorded settings."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('docqa schema'))")
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(_DATE_FUNCTION)
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (table_name text PRIMARY KEY, schema_version integer NOT NULL, "
                "language text NOT NULL, similarity text NOT NULL, embedding_dim integer, embedding_model text, "
                "split_settings jsonb)"
            ).format(sql.Identifier(VERSIONS_TABLE))
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS analyzer jsonb").format(sql.Identifier(VERSIONS_TABLE))
        )
        recorded = read_settings(conn, table)
        if recorded is None:
            _create_table(conn, table, wanted, hnsw)
            return read_settings(conn, table)  # type: ignore[return-value]
    return _check_settings(table, recorded, wanted)


def read_settings(conn: Connection[Any], table: str) -> TableSettings | None:
    row = conn.execute(
        sql.SQL(
            "SELECT schema_version, language, similarity, embedding_dim, embedding_model, analyzer FROM {} "
            "WHERE table_name = %s"
        ).format(sql.Identifier(VERSIONS_TABLE)),
        [table],
    ).fetchone()
    return None if row is None else TableSettings(*row)


def _check_settings(table: str, recorded: TableSettings, wanted: TableSettings) -> TableSettings:
    if recorded.version == 1:
        raise DocumentStoreError(
            f"PostgreSQL table {table!r} has docqa schema version 1 (no BM25 postings yet): add them with "
            "`docqa compact --upgrade DSN` (--table if not the default), or re-index into a new table"
        )
    if recorded.version != SCHEMA_VERSION:
        raise DocumentStoreError(
            f"PostgreSQL table {table!r} has docqa schema version {recorded.version}, this docqa uses "
            f"{SCHEMA_VERSION}: re-index into a new table (table=...) or upgrade docqa"
        )
    if recorded.analyzer is not None and wanted.analyzer is not None and recorded.analyzer != wanted.analyzer:
        raise DocumentStoreError(
            f"PostgreSQL table {table!r} was indexed with analyzer {recorded.analyzer}, not {wanted.analyzer}"
        )
    for name in ("language", "similarity", "embedding_dim"):
        mine, theirs = getattr(wanted, name), getattr(recorded, name)
        if mine is not None and theirs is not None and mine != theirs:
            raise DocumentStoreError(f"PostgreSQL table {table!r} was created with {name}={theirs!r}, not {mine!r}")
    return recorded


def _create_table(conn: Connection[Any], table: str, settings: TableSettings, hnsw: dict[str, int]) -> None:
    language = conn.execute("SELECT cfgname FROM pg_ts_config WHERE cfgname = %s", [settings.language]).fetchone()
    if language is None:
        raise DocumentStoreError(
            f"PostgresDocumentStore: unknown text search language {settings.language!r} (see pg_ts_config)"
        )
    vector = (
        sql.SQL("vector({})").format(sql.Literal(settings.embedding_dim))
        if settings.embedding_dim
        else sql.SQL("vector")
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE {table} (id text PRIMARY KEY, content text NOT NULL, meta jsonb NOT NULL, "
            "embedding {vector}, seq bigserial NOT NULL, content_tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector({language}::regconfig, content)) STORED)"
        ).format(table=sql.Identifier(table), vector=vector, language=sql.Literal(settings.language))
    )
    conn.execute(
        sql.SQL("CREATE INDEX {} ON {} USING gin (content_tsv)").format(
            sql.Identifier(f"{table}_tsv_idx"), sql.Identifier(table)
        )
    )
    conn.execute(
        sql.SQL("CREATE INDEX {} ON {} (seq)").format(sql.Identifier(f"{table}_seq_idx"), sql.Identifier(table))
    )
    create_bm25_tables(conn, table)
    conn.execute(
        sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, NULL, %s)").format(sql.Identifier(VERSIONS_TABLE)),
        [table, SCHEMA_VERSION, settings.language, settings.similarity, settings.embedding_dim, None,
         Jsonb(settings.analyzer or Analyzer().to_dict())],
    )  # fmt: skip
    if settings.embedding_dim:
        create_vector_index(conn, table, settings.similarity, hnsw)


def create_vector_index(conn: Connection[Any], table: str, similarity: str, hnsw: dict[str, int]) -> None:
    """The HNSW index over ``embedding`` (``m``, ``ef_construction``) for ``similarity``."""
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding {}) WITH (m = {}, ef_construction = {})"
        ).format(
            sql.Identifier(f"{table}_hnsw_idx"),
            sql.Identifier(table),
            sql.SQL(SIMILARITY_OPCLASS[similarity]),
            sql.Literal(hnsw["m"]),
            sql.Literal(hnsw["ef_construction"]),
        )
    )


def drop_vector_index(conn: Connection[Any], table: str) -> None:
    """Drop the HNSW index of ``table`` (a bulk write rebuilds it after the insert)."""
    conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(f"{table}_hnsw_idx")))


def fix_dimension(conn: Connection[Any], table: str, dim: int) -> None:
    """Give the ``embedding`` column its dimension (the first embedded write) and record it."""
    conn.execute(
        sql.SQL("ALTER TABLE {} ALTER COLUMN embedding TYPE vector({})").format(sql.Identifier(table), sql.Literal(dim))
    )
    conn.execute(
        sql.SQL("UPDATE {} SET embedding_dim = %s WHERE table_name = %s").format(sql.Identifier(VERSIONS_TABLE)),
        [dim, table],
    )


def bm25_tables(table: str) -> dict[str, sql.Identifier]:
    """The identifiers of ``table``'s BM25 tables: ``postings``, ``terms``, ``stats``."""
    return {
        "postings": sql.Identifier(f"{table}_bm25"),
        "terms": sql.Identifier(f"{table}_bm25_terms"),
        "stats": sql.Identifier(f"{table}_bm25_stats"),
    }


def create_bm25_tables(conn: Connection[Any], table: str) -> None:
    """Add the BM25 columns to ``table`` and create its postings, terms and statistics tables (empty)."""
    names = bm25_tables(table)
    conn.execute(
        sql.SQL(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS bm25_len integer NOT NULL DEFAULT 0, "
            "ADD COLUMN IF NOT EXISTS bm25_terms text[] NOT NULL DEFAULT '{{}}'"
        ).format(sql.Identifier(table))
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (term text NOT NULL, doc_id text NOT NULL, tf integer NOT NULL, "
            "len integer NOT NULL, PRIMARY KEY (term, doc_id) INCLUDE (tf, len))"
        ).format(names["postings"])
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (term text PRIMARY KEY, df integer NOT NULL, peak_tf integer[] NOT NULL, "
            "peak_len integer[] NOT NULL)"
        ).format(names["terms"])
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), "
            "n_docs bigint NOT NULL, total_len bigint NOT NULL, max_len bigint NOT NULL, "
            "okapi_idf_sum double precision NOT NULL, vocabulary bigint NOT NULL)"
        ).format(names["stats"])
    )
    conn.execute(sql.SQL("INSERT INTO {} VALUES (true, 0, 0, 0, 0, 0) ON CONFLICT DO NOTHING").format(names["stats"]))
