"""A document store in PostgreSQL: BM25 (the in-memory store's scores) or full-text search for keywords, pgvector HNSW
for embeddings, JSONB metadata."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Literal

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from docqa.core.component import capture_init_parameters, set_init_parameter
from docqa.core.validation import check_int
from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.bm25_index import BM25Params
from docqa.document_stores.postgres import bm25
from docqa.document_stores.postgres.dsn import redact_dsn, resolve_dsn
from docqa.document_stores.postgres.filters_sql import compile_filters
from docqa.document_stores.postgres.schema import (
    SCHEMA_VERSION,
    SIMILARITY_OPCLASS,
    SIMILARITY_OPERATOR,
    TableSettings,
    bm25_tables,
    check_table_name,
    create_vector_index,
    drop_vector_index,
    ensure_schema,
    fix_dimension,
    read_settings,
)
from docqa.document_stores.query_embedding import check_query_embedding
from docqa.errors import DocqaError, DocumentStoreError, DuplicateDocumentError
from docqa.schema import Document
from docqa.text.analyzer import Analyzer

KeywordMode = Literal["bm25", "or", "websearch", "and"]
_KEYWORD_QUERIES = {
    "or": "replace(plainto_tsquery({language}::regconfig, %s)::text, '&', '|')::tsquery",
    "websearch": "websearch_to_tsquery({language}::regconfig, %s)",
    "and": "plainto_tsquery({language}::regconfig, %s)",
}


@capture_init_parameters
class PostgresDocumentStore:
    """Documents in a PostgreSQL table with pgvector: the same contract, policies and filters as the in-memory store.

    ``dsn`` is a libpq connection string or URL, or ``env:VARIABLE`` to read it from the environment (the default
    ``env:DOCQA_PG_DSN``); a dumped pipeline keeps the reference, or the DSN without its password (give that with
    ``PGPASSWORD`` or ``~/.pgpass``). The table (and ``docqa_schema_versions``, which records its settings) is
    created on first use; reopening it with another ``language``, ``similarity`` or ``embedding_dim``, or a table
    of another docqa schema version, is a one-line error.

    * Writes go through ``COPY`` into a temporary table and one ``INSERT ... ON CONFLICT`` (the policy), in one
      transaction: a batch is stored whole or not at all; a connection lost before the commit is retried
      ``write_retries`` times on a fresh pooled connection. A bulk write (at least ``bulk_rows`` embedded rows,
      and at least as many as the table holds) rebuilds the HNSW index after the insert instead of updating it
      row by row (several times faster; readers wait for that write's commit), with ``maintenance_work_mem``
      for the build so the graph stays in memory.
    * :meth:`keyword_retrieval` (``keyword_mode="bm25"``, the default) is :meth:`bm25_retrieval`: BM25 with the
      in-memory store's scores (the same ``analyzer``, recorded with the table, k1, b and idf; see
      :mod:`docqa.document_stores.postgres.bm25`), kept exact by every write, update and delete. The other modes
      are full-text search (a ``tsvector`` column, GIN index, ``ts_rank_cd``): ``"or"``, any query term may match;
      ``"websearch"``, ``websearch_to_tsquery`` syntax; ``"and"``, every term (``plainto_tsquery``).
    * :meth:`embedding_retrieval`: HNSW (``hnsw_m``, ``hnsw_ef_construction``; ``ef_search`` per query); with a
      filter, pgvector's iterative index scan keeps going until ``top_k`` rows pass it, and when at most
      ``exact_search_below`` rows match, the search is exact.

    Example (needs a server; ``tests/document_stores/contract/`` runs it against a throwaway one)::

        store = PostgresDocumentStore("env:DOCQA_PG_DSN")
        store.write_documents([Document("Paris is the capital of France.")])  # 1
        store.keyword_retrieval("capital of France", top_k=1)
    """

    def __init__(
        self,
        dsn: str = "env:DOCQA_PG_DSN",
        table: str = "docqa_documents",
        embedding_dim: int | None = None,
        language: str = "english",
        similarity: str = "cosine",
        keyword_mode: KeywordMode = "bm25",
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        ef_search: int = 100,
        exact_search_below: int = 1000,
        pool_size: int = 4,
        write_retries: int = 1,
        maintenance_work_mem: str = "1GB",
        bulk_rows: int = 1000,
        analyzer: dict[str, Any] | None = None,
    ) -> None:
        set_init_parameter(self, "dsn", redact_dsn(dsn))  # never keep a password in the dumped config
        self.table = check_table_name(table)
        _check_options(similarity, keyword_mode, embedding_dim, hnsw_m, hnsw_ef_construction, ef_search)
        self.keyword_mode, self.ef_search, self.exact_search_below = keyword_mode, ef_search, exact_search_below
        self.write_retries, self.maintenance_work_mem = write_retries, maintenance_work_mem
        self.bulk_rows = check_int("PostgresDocumentStore", "bulk_rows", bulk_rows)
        self._hnsw = {"m": hnsw_m, "ef_construction": hnsw_ef_construction}
        self._display_dsn = redact_dsn(dsn)
        conninfo = resolve_dsn(dsn)
        wanted = TableSettings(SCHEMA_VERSION, language, similarity, embedding_dim, None, _analyzer_dict(analyzer))
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                self._settings = ensure_schema(conn, self.table, wanted, self._hnsw)
            self._pool = ConnectionPool(
                conninfo, min_size=1, max_size=pool_size, open=True, configure=register_vector,
                check=ConnectionPool.check_connection, kwargs={"autocommit": True}, timeout=30,
            )  # fmt: skip
        except psycopg.Error as error:
            raise DocumentStoreError(f"PostgreSQL at {self._display_dsn}: {_first_line(error)}") from None
        self._table = sql.Identifier(self.table)
        self._bm25 = bm25_tables(self.table)
        self._analyzer = Analyzer.from_dict(self._settings.analyzer or wanted.analyzer)
        weakref.finalize(self, self._pool.close)  # also at interpreter exit: the CLI never leaves a pool open

    def __repr__(self) -> str:
        return f"PostgresDocumentStore(dsn={self._display_dsn!r}, table={self.table!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()

    def __enter__(self) -> PostgresDocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except DocqaError:
            raise
        except psycopg.Error as error:
            raise DocumentStoreError(f"PostgreSQL table {self.table!r}: {_first_line(error)}") from None

    def _query(self, query: sql.Composed | sql.SQL, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(query, params).fetchall()

    # ------------------------------------------------------------------------------------ settings
    @property
    def similarity(self) -> str:
        return self._settings.similarity

    @property
    def language(self) -> str:
        return self._settings.language

    @property
    def analyzer(self) -> Analyzer:
        """How BM25 tokenizes documents and queries (recorded with the table)."""
        return self._analyzer

    @property
    def embedding_model(self) -> str | None:
        """The model the stored embeddings came from (kept in ``docqa_schema_versions``)."""
        with self._connection() as conn:
            settings = read_settings(conn, self.table)
        return None if settings is None else settings.embedding_model

    @embedding_model.setter
    def embedding_model(self, model: str | None) -> None:
        with self._connection() as conn:
            conn.execute(
                "UPDATE docqa_schema_versions SET embedding_model = %s WHERE table_name = %s", [model, self.table]
            )

    @property
    def split_settings(self) -> dict[str, Any] | None:
        """The splitter settings the passages were made with (``docqa index`` records and compares them)."""
        rows = self._query(
            sql.SQL("SELECT split_settings FROM docqa_schema_versions WHERE table_name = %s"), [self.table]
        )
        return rows[0][0] if rows else None

    @split_settings.setter
    def split_settings(self, settings: dict[str, Any] | None) -> None:
        with self._connection() as conn:
            conn.execute(
                "UPDATE docqa_schema_versions SET split_settings = %s WHERE table_name = %s",
                [None if settings is None else Jsonb(settings), self.table],
            )

    def clear(self) -> None:
        """Delete every document and forget the embedding model and split settings (the table stays)."""
        with self._connection() as conn, conn.transaction():
            conn.execute(
                sql.SQL("TRUNCATE {}, {}, {}").format(self._table, self._bm25["postings"], self._bm25["terms"])
            )
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET n_docs = 0, total_len = 0, max_len = 0, okapi_idf_sum = 0, vocabulary = 0"
                ).format(self._bm25["stats"])
            )
            conn.execute(
                "UPDATE docqa_schema_versions SET embedding_model = NULL, split_settings = NULL WHERE table_name = %s",
                [self.table],
            )

    @property
    def embedding_dim(self) -> int | None:
        """The dimension of the stored embeddings (None when no stored document has one)."""
        query = sql.SQL("SELECT v.embedding_dim FROM docqa_schema_versions v WHERE v.table_name = %s AND EXISTS "
                        "(SELECT 1 FROM {} WHERE embedding IS NOT NULL)").format(self._table)  # fmt: skip
        rows = self._query(query, [self.table])
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------------------------ protocol
    def count_documents(self) -> int:
        return int(self._query(sql.SQL("SELECT count(*) FROM {}").format(self._table))[0][0])

    def filter_documents(
        self, filters: dict[str, Any] | None = None, *, return_embedding: bool = True
    ) -> list[Document]:
        """The stored documents matching ``filters`` (all if None), in insertion order."""
        where, params = compile_filters(filters)
        query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY seq").format(
            _columns(return_embedding),
            self._table,
            sql.SQL(where),  # type: ignore[arg-type]
        )
        return [_document(row, return_embedding) for row in self._query(query, params)]

    def get_documents_by_id(self, ids: list[str], *, return_embedding: bool = True) -> list[Document]:
        """The stored documents with these ids, in the order asked; unknown ids are left out."""
        _check_ids(ids, "get_documents_by_id")
        query = sql.SQL("SELECT {} FROM {} WHERE id = ANY(%s)").format(_columns(return_embedding), self._table)
        found = {row[0]: row for row in self._query(query, [list(ids)])}
        return [_document(found[doc_id], return_embedding) for doc_id in ids if doc_id in found]

    def delete_documents(self, ids: list[str]) -> None:
        """Delete the documents with these ids (and their postings); unknown ids are ignored."""
        _check_ids(ids, "delete_documents")
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"docqa write {self.table}"])
            self._delete(conn, sql.SQL("id = ANY(%s)"), [list(ids)])

    def _delete(self, conn: psycopg.Connection[Any], where: sql.Composable, params: list[Any]) -> int:
        """Delete the documents matching ``where`` with their postings, keeping the BM25 statistics exact."""
        removed = conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} RETURNING id, bm25_terms, bm25_len").format(self._table, where), params
        ).fetchall()
        if removed:
            bm25.remove_postings(conn, self._bm25, removed)
            bm25.refresh_statistics(conn, self._bm25)
        return len(removed)

    def write_documents(self, documents: Sequence[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Store ``documents``; return how many were written. A failing batch writes nothing."""
        policy = _as_policy(policy)
        selected = _plan_write(_check_documents(documents), policy)
        if not selected:
            return 0
        rows, dim = _rows(selected, self._analyzer)
        for attempt in range(self.write_retries + 1):
            try:
                return self._write_once(rows, dim, policy)
            except _Retryable as lost:
                if attempt == self.write_retries:
                    raise DocumentStoreError(
                        f"PostgreSQL table {self.table!r}: connection lost during write_documents, nothing was "
                        f"written ({lost})"
                    ) from None
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------------------------- writing
    def _write_once(self, rows: list[tuple[Any, ...]], dim: int | None, policy: DuplicatePolicy) -> int:
        with self._pool.connection() as conn:
            committing = False
            try:
                conn.execute("BEGIN")
                written = self._insert(conn, rows, dim, policy)
                committing = True
                conn.execute("COMMIT")
                return written
            except psycopg.OperationalError as error:
                _rollback(conn)
                if committing:
                    raise DocumentStoreError(
                        f"PostgreSQL table {self.table!r}: connection lost while committing; the batch may or may "
                        "not be stored (write it again with policy SKIP or OVERWRITE)"
                    ) from None
                raise _Retryable(_first_line(error)) from None
            except psycopg.Error as error:
                _rollback(conn)
                raise DocumentStoreError(f"PostgreSQL table {self.table!r}: {_first_line(error)}") from None
            except BaseException:
                _rollback(conn)
                raise

    def _insert(self, conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]], dim: int | None,
                policy: DuplicatePolicy) -> int:  # fmt: skip
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"docqa write {self.table}"])
        new_dimension = dim is not None and self._reserve_dimension(conn, dim)
        rebuild = dim is not None and (new_dimension or self._bulk_write(conn, len(rows)))
        if rebuild:
            drop_vector_index(conn, self.table)
        conn.execute(
            "CREATE TEMP TABLE docqa_staging (ord integer, id text, content text, meta jsonb, embedding vector, "
            "bm25_terms text[], bm25_tfs integer[], bm25_len integer) ON COMMIT DROP"
        )
        with conn.cursor().copy(
            "COPY docqa_staging (ord, id, content, meta, embedding, bm25_terms, bm25_tfs, bm25_len) FROM STDIN"
        ) as copy:
            for position, row in enumerate(rows):
                copy.write_row((position, *row))
        if policy is DuplicatePolicy.OVERWRITE:  # replaced documents go first, with their postings
            self._delete(conn, sql.SQL("id IN (SELECT id FROM docqa_staging)"), [])
        inserted = conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, content, meta, embedding, bm25_terms, bm25_len) "
                "SELECT id, content, meta, embedding, bm25_terms, bm25_len "
                "FROM docqa_staging ORDER BY ord ON CONFLICT (id) DO NOTHING RETURNING id"
            ).format(self._table)
        ).fetchall()
        if policy is DuplicatePolicy.FAIL and len(inserted) < len(rows):
            stored = {row[0] for row in inserted}
            duplicate = next(row[0] for row in rows if row[0] not in stored)
            raise DuplicateDocumentError(f"document {duplicate} is already in the store (duplicate policy FAIL)")
        analyzed = {row[0]: row[4:] for row in rows}
        bm25.add_postings(conn, self._bm25, "docqa_staging", [(i, *analyzed[i]) for (i,) in inserted])
        bm25.refresh_statistics(conn, self._bm25)
        if rebuild:
            conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", [self.maintenance_work_mem])
            create_vector_index(conn, self.table, self.similarity, self._hnsw)
        return len(inserted)

    def _bulk_write(self, conn: psycopg.Connection[Any], rows: int) -> bool:
        """Whether ``rows`` new rows are a bulk load: at least ``bulk_rows`` and at least the rows stored."""
        if rows < self.bulk_rows:
            return False
        query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) s").format(self._table)
        return int(conn.execute(query, [rows + 1]).fetchone()[0]) <= rows  # type: ignore[index]

    def _reserve_dimension(self, conn: psycopg.Connection[Any], dim: int) -> bool:
        """Check ``dim`` against the table's; fix it on the first embedded write (True then)."""
        settings = read_settings(conn, self.table)
        recorded = None if settings is None else settings.embedding_dim
        if recorded is not None and recorded != dim:
            raise DocumentStoreError(
                f"embeddings have dimension {dim}, the PostgreSQL table {self.table!r} has {recorded}"
            )
        if recorded is None:
            fix_dimension(conn, self.table, dim)
        return recorded is None

    # ----------------------------------------------------------------------------------- retrieval
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
        return_embedding: bool = False,
    ) -> list[Document]:
        """The ``top_k`` best BM25 matches for ``query`` among documents matching ``filters``, best first: the
        in-memory store's documents and scores (rank-bm25's ``variant``, ``k1``, ``b``, ``epsilon``, ``delta``).

        A filter matching at most ``exact_search_below`` documents is applied first (they are all scored);
        otherwise the best candidates are found first and the filter applied to them.
        """
        check_int("PostgresDocumentStore", "top_k", top_k)
        if not isinstance(query, str) or not query.strip():
            raise DocqaError(f"BM25 query must be a non-empty string, got {query!r}")
        params = BM25Params(variant, k1, b, epsilon, delta)
        text, where_params = compile_filters(filters)
        where = bm25.Where(text, where_params, filters is not None)
        tokens = self._analyzer(query)
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot for it all
            small = filters is not None and self._filter_matches_at_most(conn, text, where_params)
            search = bm25.Search(conn, self.table, _columns(return_embedding), params, where)
            rows = search.top_k(tokens, top_k, small)
        return [_document(row, return_embedding, score=float(row[-1])) for row in rows]

    def _filter_matches_at_most(self, conn: psycopg.Connection[Any], where: str, params: list[Any]) -> bool:
        query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} WHERE {} LIMIT %s) s").format(
            self._table,
            sql.SQL(where),  # type: ignore[arg-type]
        )
        limit = self.exact_search_below
        return int(conn.execute(query, [*params, limit + 1]).fetchone()[0]) <= limit  # type: ignore[index]

    def prepare_bm25(
        self,
        *,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> None:
        """Check a BM25 configuration (nothing is precomputed: the statistics are kept by the writes)."""
        BM25Params(variant, k1, b, epsilon, delta)

    def keyword_retrieval(
        self, query: str, *, top_k: int = 10, filters: dict[str, Any] | None = None, return_embedding: bool = False
    ) -> list[Document]:
        """The ``top_k`` best documents for ``query`` by ``keyword_mode``: BM25 (:meth:`bm25_retrieval` with its
        default parameters), or full-text search ranked by ``ts_rank_cd`` among documents matching the query."""
        if self.keyword_mode == "bm25":
            return self.bm25_retrieval(query, top_k=top_k, filters=filters, return_embedding=return_embedding)
        check_int("PostgresDocumentStore", "top_k", top_k)
        if not isinstance(query, str) or not query.strip():
            raise DocqaError(f"keyword query must be a non-empty string, got {query!r}")
        where, params = compile_filters(filters)
        tsquery = sql.SQL(_KEYWORD_QUERIES[self.keyword_mode]).format(language=sql.Literal(self.language))
        statement = sql.SQL(
            "SELECT {columns}, ts_rank_cd(content_tsv, q.query) AS score FROM {table}, (SELECT {tsquery} AS query) q "
            "WHERE content_tsv @@ q.query AND {where} ORDER BY score DESC, seq LIMIT %s"
        ).format(columns=_columns(return_embedding), table=self._table, tsquery=tsquery, where=sql.SQL(where))  # type: ignore[arg-type]
        rows = self._query(statement, [query, *params, top_k])
        return [_document(row, return_embedding, score=float(row[-1])) for row in rows]

    def embedding_retrieval(
        self,
        query_embedding: Sequence[float] | np.ndarray,
        *,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        similarity: str = "cosine",
        return_embedding: bool = False,
        exact: bool | None = None,
    ) -> list[Document]:
        """Nearest neighbours of ``query_embedding`` (``cosine`` or ``dot_product``), best first.

        ``exact=None`` decides: HNSW, except that a filter matching at most ``exact_search_below`` rows is searched
        exactly; ``True`` / ``False`` force it.
        """
        check_int("PostgresDocumentStore", "top_k", top_k)
        if similarity not in SIMILARITY_OPERATOR:
            raise DocumentStoreError(f"unknown similarity {similarity!r}; expected one of {list(SIMILARITY_OPERATOR)}")
        vector = self._check_query_embedding(query_embedding, similarity)
        where, params = compile_filters(filters)
        with self._connection() as conn, conn.transaction():
            if exact is None:
                exact = filters is not None and self._matching_at_most(conn, where, params, self.exact_search_below)
            self._search_settings(conn, exact, top_k, filtered=filters is not None)
            rows = conn.execute(self._knn_sql(similarity, where, return_embedding), [vector, *params, top_k]).fetchall()
        sign = -1.0 if similarity == "dot_product" else 1.0
        score = (lambda d: 1.0 - d) if similarity == "cosine" else (lambda d: sign * d)
        return [_document(row, return_embedding, score=float(score(row[-1]))) for row in rows]

    def _knn_sql(self, similarity: str, where: str, return_embedding: bool) -> sql.Composed:
        return sql.SQL(
            "WITH nearest AS MATERIALIZED (SELECT {columns}, embedding {op} %s::vector AS distance FROM {table} "
            "WHERE embedding IS NOT NULL AND {where} ORDER BY distance LIMIT %s) "
            "SELECT * FROM nearest ORDER BY distance, seq"
        ).format(columns=_columns(return_embedding), op=sql.SQL(SIMILARITY_OPERATOR[similarity]), table=self._table,
                 where=sql.SQL(where))  # type: ignore[arg-type]  # fmt: skip

    def _matching_at_most(self, conn: psycopg.Connection[Any], where: str, params: list[Any], limit: int) -> bool:
        query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} WHERE embedding IS NOT NULL AND {} LIMIT %s) s").format(
            self._table,
            sql.SQL(where),  # type: ignore[arg-type]
        )
        return int(conn.execute(query, [*params, limit + 1]).fetchone()[0]) <= limit  # type: ignore[index]

    def _search_settings(self, conn: psycopg.Connection[Any], exact: bool, top_k: int, filtered: bool) -> None:
        if exact:
            conn.execute("SELECT set_config('enable_indexscan', 'off', true)")
            return
        iterative = "relaxed_order" if filtered else "off"
        conn.execute("SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
                     [str(max(self.ef_search, top_k)), iterative])  # fmt: skip

    def _check_query_embedding(self, query_embedding: Any, similarity: str) -> np.ndarray:
        return check_query_embedding(query_embedding, self.embedding_dim, similarity)


class _Retryable(Exception):
    """The connection was lost before the commit: the transaction is gone and the batch can be sent again."""


def _rollback(conn: psycopg.Connection[Any]) -> None:
    with suppress(psycopg.Error):  # the connection is gone: the server rolled back already; the pool discards it
        conn.execute("ROLLBACK")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _columns(with_embedding: bool) -> sql.SQL:
    return sql.SQL("id, content, meta, seq" + (", embedding" if with_embedding else ", NULL::vector AS embedding"))


def _document(row: tuple[Any, ...], with_embedding: bool, score: float | None = None) -> Document:
    doc_id, content, meta, _seq, embedding = row[:5]
    vector = None
    if with_embedding and embedding is not None:  # pgvector.Vector, or an ndarray in older pgvector releases
        vector = np.asarray(embedding.to_numpy() if hasattr(embedding, "to_numpy") else embedding, dtype=np.float32)
    return Document(content, meta, doc_id, score, vector)


def _check_options(similarity: str, mode: str, dim: int | None, m: int, ef_construction: int, ef_search: int) -> None:
    if similarity not in SIMILARITY_OPCLASS:
        raise DocumentStoreError(f"unknown similarity {similarity!r}; expected one of {list(SIMILARITY_OPCLASS)}")
    if mode not in ("bm25", *_KEYWORD_QUERIES):
        raise DocumentStoreError(f"unknown keyword_mode {mode!r}; expected one of {['bm25', *_KEYWORD_QUERIES]}")
    for name, value in {"hnsw_m": m, "hnsw_ef_construction": ef_construction, "ef_search": ef_search}.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DocumentStoreError(f"PostgresDocumentStore: {name} must be an integer >= 1, got {value!r}")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 16000):
        raise DocumentStoreError(f"PostgresDocumentStore: embedding_dim must be an integer 1..16000, got {dim!r}")


def _check_ids(ids: Any, method: str) -> None:
    if isinstance(ids, str) or not all(isinstance(doc_id, str) for doc_id in ids):
        raise DocumentStoreError(f"{method} expects a list of string ids")


def _as_policy(policy: Any) -> DuplicatePolicy:
    try:
        policy = DuplicatePolicy(policy)
    except ValueError:
        raise DocumentStoreError(
            f"unknown duplicate policy {policy!r}; expected one of none, skip, overwrite, fail"
        ) from None
    return DuplicatePolicy.FAIL if policy is DuplicatePolicy.NONE else policy


def _check_documents(documents: Any) -> Sequence[Document]:
    if isinstance(documents, (str, Document)) or not isinstance(documents, Sequence):
        raise DocumentStoreError(f"write_documents expects a list of Documents, got {type(documents).__name__}")
    for position, document in enumerate(documents):
        if not isinstance(document, Document):
            raise DocumentStoreError(f"write_documents: item {position} is a {type(document).__name__}, not a Document")
    return documents


def _plan_write(documents: Sequence[Document], policy: DuplicatePolicy) -> list[Document]:
    """The batch without repeats: the last of an id under OVERWRITE, the first under SKIP; FAIL refuses repeats."""
    if policy is DuplicatePolicy.OVERWRITE:
        return list({document.id: document for document in documents}.values())
    selected: dict[str, Document] = {}
    for document in documents:
        if document.id in selected and policy is DuplicatePolicy.FAIL:
            raise DuplicateDocumentError(f"document {document.id} is repeated in the batch (duplicate policy FAIL)")
        selected.setdefault(document.id, document)
    return list(selected.values())


def _rows(documents: list[Document], analyzer: Analyzer) -> tuple[list[tuple[Any, ...]], int | None]:
    """COPY rows (id, content, meta JSON, embedding, BM25 terms, their frequencies, length) and the batch's
    embedding dimension; bad input raises."""
    rows: list[tuple[Any, ...]] = []
    dim: int | None = None
    for document, analyzed in zip(documents, bm25.analyze(documents, analyzer), strict=True):
        vector = _vector(document, dim)
        dim = dim if vector is None else len(vector)
        rows.append((document.id, _text(document), _meta_json(document), vector, *analyzed))
    return rows, dim


def _text(document: Document) -> str:
    if "\x00" in document.content or "\x00" in document.id:
        raise DocumentStoreError(f"document {document.id!r}: PostgreSQL text cannot hold NUL characters")
    return document.content


def _meta_json(document: Document) -> str:
    try:
        text = json.dumps(document.meta, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DocumentStoreError(f"document {document.id}: meta is not JSON-serializable ({error})") from None
    if "\\u0000" in text:
        raise DocumentStoreError(f"document {document.id}: meta holds a NUL character, which PostgreSQL rejects")
    return text


def _vector(document: Document, dim: int | None) -> np.ndarray | None:
    if document.embedding is None:
        return None
    try:
        vector = np.asarray(document.embedding, dtype=np.float32)
    except (TypeError, ValueError):
        raise DocumentStoreError(f"document {document.id}: embedding is not a list of numbers") from None
    if vector.ndim != 1 or vector.size == 0:
        raise DocumentStoreError(f"document {document.id}: embedding must be a non-empty 1-D vector")
    if dim is not None and len(vector) != dim:
        raise DocumentStoreError(f"document {document.id}: embedding has dimension {len(vector)}, the batch has {dim}")
    if not np.isfinite(vector).all():
        raise DocumentStoreError(f"document {document.id}: embedding contains NaN or infinite values")
    return vector


def _analyzer_dict(analyzer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The analyzer's full configuration (None: whatever the table recorded, else the default)."""
    return None if analyzer is None else Analyzer.from_dict(analyzer).to_dict()


def upgrade_table(dsn: str, table: str = "docqa_documents", batch: int = 2000) -> int:
    """Bring a table of docqa schema version 1 (before BM25) to the current one: add its BM25 columns and tables
    and fill them from the stored documents (the default analyzer), in one transaction; return the documents
    indexed (0 for a table already current). ``docqa compact --upgrade DSN`` runs it."""
    check_table_name(table)
    display = redact_dsn(dsn)
    try:
        with psycopg.connect(resolve_dsn(dsn), autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"docqa write {table}"])
            settings = read_settings(conn, table)
            if settings is None:
                raise DocumentStoreError(f"PostgreSQL at {display}: no docqa table {table!r}")
            if settings.version == SCHEMA_VERSION:
                return 0
            return _upgrade_from_1(conn, table, batch)
    except psycopg.Error as error:
        raise DocumentStoreError(f"PostgreSQL at {display}: {_first_line(error)}") from None


def _upgrade_from_1(conn: psycopg.Connection[Any], table: str, batch: int) -> int:
    from docqa.document_stores.postgres.schema import VERSIONS_TABLE, create_bm25_tables

    analyzer = Analyzer()
    create_bm25_tables(conn, table)
    names = bm25_tables(table)
    conn.execute(
        "CREATE TEMP TABLE docqa_staging (id text, bm25_terms text[], bm25_tfs integer[], bm25_len integer) "
        "ON COMMIT DROP"
    )
    done, last = 0, -1
    while True:
        rows = conn.execute(
            sql.SQL("SELECT id, content, seq FROM {} WHERE seq > %s ORDER BY seq LIMIT %s").format(
                sql.Identifier(table)
            ),
            [last, batch],
        ).fetchall()
        if not rows:
            break
        analyzed = bm25.analyze([Document(content, id=doc_id) for doc_id, content, _ in rows], analyzer)
        with conn.cursor().copy("COPY docqa_staging (id, bm25_terms, bm25_tfs, bm25_len) FROM STDIN") as copy:
            for (doc_id, _, _), terms in zip(rows, analyzed, strict=True):
                copy.write_row((doc_id, *terms))
        bm25.add_postings(
            conn, names, "docqa_staging", [(row[0], *terms) for row, terms in zip(rows, analyzed, strict=True)]
        )
        conn.execute(
            sql.SQL(
                "UPDATE {} AS t SET bm25_terms = s.bm25_terms, bm25_len = s.bm25_len FROM docqa_staging s "
                "WHERE t.id = s.id"
            ).format(sql.Identifier(table))
        )
        conn.execute("TRUNCATE docqa_staging")
        done, last = done + len(rows), rows[-1][2]
    bm25.refresh_statistics(conn, names)
    conn.execute(
        sql.SQL("UPDATE {} SET schema_version = %s, analyzer = %s WHERE table_name = %s").format(
            sql.Identifier(VERSIONS_TABLE)
        ),
        [SCHEMA_VERSION, Jsonb(analyzer.to_dict()), table],
    )
    return done
