"""BM25 inside PostgreSQL with the in-memory store's scores: the same analyzer (run here, in Python), k1, b and idf.

Writes keep three tables exact in their own transaction (see :mod:`docqa.document_stores.postgres.schema`): the
postings (term, document, frequency, document length), each term's live document frequency and largest
frequency, and the live document count, total length and sum of okapi idfs. A query reads the statistics and its
terms' frequencies (one snapshot: ``REPEATABLE READ``), computes the idfs in Python exactly as the in-memory store
does, and scores in SQL, ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))`` summed per document.

It does not score every posting of a common term: as in the in-memory store (MaxScore), a first query scores
fully the documents that do best on the rarest terms, giving a bound ``theta`` on the k-th best score; terms whose
upper bounds (``idf * (k1 + 1)`` at most, tighter from the term's largest frequency) add up to less than ``theta``
are *optional*: only documents holding an essential term, and getting at least ``theta`` less the optional bounds
from them, are candidates, and the optional terms are looked up for those alone (by the ``(term, doc_id)`` key).

Why not pgvector's ``sparsevec`` with the idf on the query side: a document's weight for a term depends on the
average document length, which every write changes, so exact scores would mean rewriting every vector.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import Connection, sql

from docqa.document_stores.bm25_index import BM25Params, idf_values, saturation, split_terms
from docqa.schema import Document
from docqa.text.analyzer import Analyzer

_PROBE_POSTINGS = 4096  # postings of the rarest terms scored first (at least; or the documents / 32)
_PROBE_TERMS = 4
_PROBE_BEST = 8  # of their documents, the best PROBE_BEST * k are scored fully
_SLACK = 1e-9


def analyze(documents: Sequence[Document], analyzer: Analyzer) -> list[tuple[list[str], list[int], int]]:
    """Each document's distinct terms, their frequencies, and its length in tokens."""
    rows = []
    for document in documents:
        tokens = analyzer(document.content)
        counts = Counter(tokens)
        rows.append((list(counts), list(counts.values()), len(tokens)))
    return rows


# ------------------------------------------------------------------------------------------------- writing
def add_postings(conn: Connection[Any], names: dict[str, sql.Identifier], staging: str, ids: list[str]) -> None:
    """Postings, frequencies and statistics of the rows of ``staging`` with these ``ids`` (just inserted)."""
    if not ids:
        return
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE docqa_new ON COMMIT DROP AS "
            "SELECT id, bm25_terms, bm25_tfs, bm25_len FROM {} WHERE id = ANY(%s)"
        ).format(sql.Identifier(staging)),
        [ids],
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (term, doc_id, tf, len) SELECT u.term, n.id, u.tf, n.bm25_len "
            "FROM docqa_new n, unnest(n.bm25_terms, n.bm25_tfs) AS u(term, tf)"
        ).format(names["postings"])
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {terms} AS t (term, df, max_tf) SELECT u.term, count(*), max(u.tf) "
            "FROM docqa_new n, unnest(n.bm25_terms, n.bm25_tfs) AS u(term, tf) GROUP BY u.term "
            "ON CONFLICT (term) DO UPDATE SET df = t.df + EXCLUDED.df, max_tf = GREATEST(t.max_tf, EXCLUDED.max_tf)"
        ).format(terms=names["terms"])
    )
    conn.execute(
        sql.SQL(
            "UPDATE {} SET n_docs = n_docs + s.n, total_len = total_len + s.total "
            "FROM (SELECT count(*) AS n, coalesce(sum(bm25_len), 0) AS total FROM docqa_new) s"
        ).format(names["stats"])
    )
    conn.execute("DROP TABLE docqa_new")


def remove_postings(conn: Connection[Any], names: dict[str, sql.Identifier], removed: list[tuple[Any, ...]]) -> None:
    """Take the deleted documents ``removed`` (id, terms, length) out of the postings and the statistics."""
    if not removed:
        return
    pairs_terms = [term for _, terms, _ in removed for term in terms]
    pairs_ids = [doc_id for doc_id, terms, _ in removed for _ in terms]
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE (term, doc_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))").format(
            names["postings"]
        ),
        [pairs_terms, pairs_ids],
    )
    conn.execute(
        sql.SQL(
            "UPDATE {} AS t SET df = t.df - d.n FROM "
            "(SELECT term, count(*) AS n FROM unnest(%s::text[]) AS term GROUP BY term) d WHERE t.term = d.term"
        ).format(names["terms"]),
        [pairs_terms],
    )
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE df <= 0 AND term = ANY(%s)").format(names["terms"]), [list(set(pairs_terms))]
    )
    conn.execute(
        sql.SQL("UPDATE {} SET n_docs = n_docs - %s, total_len = total_len - %s").format(names["stats"]),
        [len(removed), sum(int(length) for _, _, length in removed)],
    )


def refresh_statistics(conn: Connection[Any], names: dict[str, sql.Identifier]) -> None:
    """Recompute the sum of okapi idfs over the live vocabulary (every document count changes all of them)."""
    conn.execute(
        sql.SQL(
            "UPDATE {stats} AS s SET okapi_idf_sum = a.total, vocabulary = a.n FROM "
            "(SELECT coalesce(sum(ln((st.n_docs - t.df)::float8 + 0.5) - ln(t.df::float8 + 0.5)), 0) AS total, "
            "count(*) AS n FROM {terms} t, {stats} st WHERE t.df > 0) a"
        ).format(stats=names["stats"], terms=names["terms"])
    )


# ------------------------------------------------------------------------------------------------ querying
@dataclass(frozen=True)
class Statistics:
    n_docs: int
    total_len: int
    okapi_idf_sum: float
    vocabulary: int


@dataclass
class _Terms:
    """The query's terms some live document holds: text, weight (idf x count), bounds, document frequency."""

    terms: list[str]
    weights: np.ndarray
    idf: np.ndarray
    counts: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    df: np.ndarray


@dataclass(frozen=True)
class Where:
    """A filter compiled to SQL over the documents table (``TRUE`` for none) and its parameters."""

    text: str
    params: list[Any]
    filtered: bool


class Search:
    """One BM25 query against a docqa table, run on ``conn`` inside one repeatable-read transaction."""

    def __init__(
        self, conn: Connection[Any], table: str, columns: sql.Composable, params: BM25Params, where: Where
    ) -> None:
        self.conn, self.params, self.where = conn, params, where
        self.table, self.columns = sql.Identifier(table), columns
        self.names = {key: sql.Identifier(f"{table}{suffix}") for key, suffix in _SUFFIXES.items()}

    def top_k(self, tokens: Sequence[str], k: int, small_filter: bool) -> list[tuple[Any, ...]]:
        """Rows of ``columns`` plus the score, best first (ties in insertion order)."""
        statistics = self._statistics()
        if not tokens or statistics.n_docs == 0:
            return []
        terms = self._terms(Counter(tokens), statistics)
        if terms is None:
            return []
        avgdl = statistics.total_len / statistics.n_docs if statistics.total_len else 1.0
        constants = self._constants(avgdl)
        every = list(range(len(terms.terms)))
        if small_filter:  # few documents pass the filter: score them all
            rows = self._run(_FILTERED_SQL, constants, terms, every, [], [*self.where.params, k])
        else:
            theta = self._probe(constants, terms, k, statistics.n_docs)
            essential, optional = split_terms(terms.upper, terms.df, theta)
            cutoff = theta - float(terms.upper[optional].sum()) * (1 + _SLACK) if optional else theta
            cutoff = cutoff * (1 - _SLACK) if cutoff > 0 else -np.inf
            rows = self._run(_MAIN_SQL, constants, terms, essential, optional, [cutoff, *self.where.params, k])
        constant = self._absent_constant(terms)
        return [(*row[:-1], float(row[-1]) + constant) for row in rows]

    def _statistics(self) -> Statistics:
        row = self.conn.execute(
            sql.SQL("SELECT n_docs, total_len, okapi_idf_sum, vocabulary FROM {}").format(self.names["stats"])
        ).fetchone()
        return Statistics(0, 0, 0.0, 0) if row is None else Statistics(*row)

    def _terms(self, counts: Counter[str], statistics: Statistics) -> _Terms | None:
        rows = self.conn.execute(
            sql.SQL("SELECT term, df, max_tf FROM {} WHERE term = ANY(%s) AND df > 0 ORDER BY term").format(
                self.names["terms"]
            ),
            [list(counts)],
        ).fetchall()
        if not rows:
            return None
        texts = [row[0] for row in rows]
        df = np.array([row[1] for row in rows], dtype=np.int64)
        max_tf = np.array([row[2] for row in rows], dtype=np.float64)
        mean = statistics.okapi_idf_sum / statistics.vocabulary if statistics.vocabulary else 0.0
        idf = idf_values(self.params, statistics.n_docs, df, mean)
        count = np.array([counts[text] for text in texts], dtype=np.float64)
        # No posting gets more than its term's largest frequency in a document of length 0 would.
        extreme = idf * count * saturation(self.params, max_tf, np.zeros(len(rows)), 1.0)
        upper = np.maximum(extreme, 0.0) * (1 + _SLACK)
        lower = np.minimum(extreme, 0.0) * (1 + _SLACK)
        return _Terms(texts, idf * count, idf, count, upper, lower, df)

    def _constants(self, avgdl: float) -> list[float]:
        params = self.params
        delta = float(params.delta) if params.delta is not None else 0.0
        return [params.k1, params.k1 + 1, 1 - params.b, params.b, avgdl, delta]

    def _probe(self, constants: list[float], terms: _Terms, k: int, n_docs: int) -> float:
        """The k-th best full score among the documents scoring best on the rarest terms (-inf: fewer than k)."""
        budget = max(_PROBE_POSTINGS, n_docs // 32)
        picked: list[int] = []
        for position in np.argsort(terms.df, kind="stable").tolist():
            if picked and (len(picked) >= _PROBE_TERMS or terms.df[picked].sum() + terms.df[position] > budget):
                break
            picked.append(position)
        others = [position for position in range(len(terms.terms)) if position not in picked]
        if self.where.filtered:
            rows = self._run(
                _PROBE_FILTERED_SQL, constants, terms, picked, others, [*self.where.params, _PROBE_BEST * k]
            )
        else:
            rows = self._run(_PROBE_SQL, constants, terms, picked, others, [_PROBE_BEST * k])
        if len(rows) < k:
            return -np.inf
        return float(sorted((float(row[-1]) for row in rows), reverse=True)[k - 1])

    def _run(
        self, template: str, constants: list[float], terms: _Terms, first: list[int], second: list[int], tail: list[Any]
    ) -> list[tuple[Any, ...]]:
        """Run ``template`` with the terms at ``first`` as ``q``, those at ``second`` as ``o``, then ``tail``."""
        statement = sql.SQL(template).format(
            saturation=sql.SQL(_SATURATION[self.params.variant]),  # type: ignore[arg-type]
            postings=self.names["postings"],
            table=self.table,
            columns=self.columns,
            where=sql.SQL(self.where.text),  # type: ignore[arg-type]
        )
        params: list[Any] = [
            *constants,
            [terms.terms[i] for i in first],
            [float(terms.weights[i]) for i in first],
            [terms.terms[i] for i in second],
            [float(terms.weights[i]) for i in second],
            *tail,
        ]
        return self.conn.execute(statement, params).fetchall()

    def _absent_constant(self, terms: _Terms) -> float:
        if self.params.variant != "bm25plus":
            return 0.0
        return float(np.dot(terms.idf * float(self.params.delta), terms.counts))  # type: ignore[arg-type]


_SUFFIXES = {"postings": "_bm25", "terms": "_bm25_terms", "stats": "_bm25_stats"}

# A term's saturation in SQL, operation for operation as bm25_index.saturation (c: the constants; p: a posting).
_NORM = "(c.omb + c.b * p.len / c.avgdl)"
_SATURATION = {
    "okapi": f"(p.tf * c.k1p1 / (p.tf + c.k1 * {_NORM}))",
    "bm25l": f"(p.tf * c.k1p1 * (p.tf / {_NORM} + c.delta) / (c.k1 + p.tf / {_NORM} + c.delta))",
    "bm25plus": f"((p.tf * c.k1p1) / (c.k1 * {_NORM} + p.tf))",
}
_HEAD = (
    "WITH c AS (SELECT %s::float8 AS k1, %s::float8 AS k1p1, %s::float8 AS omb, %s::float8 AS b, "
    "%s::float8 AS avgdl, %s::float8 AS delta), "
    "q AS (SELECT * FROM unnest(%s::text[], %s::float8[]) AS q(term, w)), "
    "o AS (SELECT * FROM unnest(%s::text[], %s::float8[]) AS o(term, w)) "
)
_COMPLETE = (
    "SELECT b.doc_id, b.partial + coalesce(sum(o.w * {saturation}), 0) FROM best b CROSS JOIN c "
    "LEFT JOIN {postings} p ON p.doc_id = b.doc_id AND p.term IN (SELECT term FROM o) "
    "LEFT JOIN o ON o.term = p.term GROUP BY b.doc_id, b.partial"
)
# The best documents on the terms q, completed with the terms o (params: LIMIT).
_PROBE_SQL = (
    _HEAD
    + (
        ", best AS (SELECT p.doc_id, sum(q.w * {saturation}) AS partial FROM q JOIN {postings} p ON p.term = q.term "
        "CROSS JOIN c GROUP BY p.doc_id ORDER BY partial DESC LIMIT %s) "
    )
    + _COMPLETE
)
# The same among the documents passing the filter (params: the filter's, LIMIT).
_PROBE_FILTERED_SQL = (
    _HEAD
    + (
        ", best AS (SELECT p.doc_id, sum(q.w * {saturation}) AS partial FROM q JOIN {postings} p ON p.term = q.term "
        "CROSS JOIN c JOIN {table} ON id = p.doc_id WHERE {where} GROUP BY p.doc_id ORDER BY partial DESC LIMIT %s) "
    )
    + _COMPLETE
)
# Candidates: documents getting at least the cutoff from the essential terms q; then the optional terms o
# (params: the cutoff, the filter's, LIMIT).
_MAIN_SQL = _HEAD + (
    ", candidates AS (SELECT p.doc_id, sum(q.w * {saturation}) AS partial FROM q JOIN {postings} p "
    "ON p.term = q.term CROSS JOIN c GROUP BY p.doc_id HAVING sum(q.w * {saturation}) >= %s), "
    "scored AS (SELECT d.doc_id, d.partial + coalesce(sum(o.w * {saturation}), 0) AS bm25_score "
    "FROM candidates d CROSS JOIN c LEFT JOIN {postings} p ON p.doc_id = d.doc_id AND p.term IN (SELECT term FROM o) "
    "LEFT JOIN o ON o.term = p.term GROUP BY d.doc_id, d.partial) "
    "SELECT {columns}, s.bm25_score FROM scored s JOIN {table} ON id = s.doc_id WHERE {where} "
    "ORDER BY s.bm25_score DESC, seq LIMIT %s"
)
# A selective filter: every document passing it, scored on all the query's terms q (params: the filter's, LIMIT).
_FILTERED_SQL = _HEAD + (
    "SELECT {columns}, sum(q.w * {saturation}) AS bm25_score FROM {table} JOIN {postings} p ON p.doc_id = id "
    "JOIN q ON q.term = p.term CROSS JOIN c WHERE {where} GROUP BY id ORDER BY bm25_score DESC, seq LIMIT %s"
)
