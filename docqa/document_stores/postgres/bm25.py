"""BM25 inside PostgreSQL with the in-memory store's scores: the same analyzer (run here, in Python), k1, b and idf.

Writes keep three tables exact in their own transaction (see :mod:`docqa.document_stores.postgres.schema`): the
postings (term, document, frequency, document length), each term's live document frequency and the peaks of its
postings, and the live document count, total length and sum of okapi idfs. A query reads the statistics and its
terms (one snapshot: ``REPEATABLE READ``), computes the idfs in Python exactly as the in-memory store does, and
scores in SQL, ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))`` summed per document.

It does not score every posting of a common term (MaxScore, as in the in-memory store): a first statement scores
fully the documents that do best on the rarest terms, giving a bound ``theta`` on the k-th best score; terms whose
upper bounds (from their peaks) add up to less than ``theta`` are *optional*: only documents holding an essential
term, and getting from them enough to still reach ``theta``, are candidates, and the optional terms are then
looked up for the candidates one term at a time (by the ``(term, doc_id)`` key, the index alone), each step
dropping the candidates that can no longer reach ``theta``, counting per optional term the most it gives a
document of the candidate's length.

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
from docqa.document_stores.postings import peaks
from docqa.schema import Document
from docqa.text.analyzer import Analyzer

_PROBE_POSTINGS = 4096  # postings of the rarest terms scored first (at least; or the documents / 32)
_PROBE_TERMS = 4
_PROBE_BEST = 8  # of their documents, the best PROBE_BEST * k are scored fully
_SLACK = 1e-9
_MAX_LENGTHS = 4096  # per-length bounds tabulated up to this length; longer documents get the term's bound
_SUFFIXES = {"postings": "_bm25", "terms": "_bm25_terms", "stats": "_bm25_stats"}

Analyzed = tuple[str, list[str], list[int], int]  # a document's id, distinct terms, their frequencies, length


def analyze(documents: Sequence[Document], analyzer: Analyzer) -> list[tuple[list[str], list[int], int]]:
    """Each document's distinct terms, their frequencies, and its length in tokens."""
    rows = []
    for document in documents:
        tokens = analyzer(document.content)
        counts = Counter(tokens)
        rows.append((list(counts), list(counts.values()), len(tokens)))
    return rows


# ------------------------------------------------------------------------------------------------- writing
def add_postings(
    conn: Connection[Any], names: dict[str, sql.Identifier], staging: str, documents: list[Analyzed]
) -> None:
    """Postings, frequencies, peaks and statistics of ``documents`` (just inserted; also rows of ``staging``)."""
    if not documents:
        return
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (term, doc_id, tf, len) SELECT u.term, s.id, u.tf, s.bm25_len "
            "FROM {} s, unnest(s.bm25_terms, s.bm25_tfs) AS u(term, tf) WHERE s.id = ANY(%s) ORDER BY u.term, s.id"
        ).format(names["postings"], sql.Identifier(staging)),
        [[doc_id for doc_id, _, _, _ in documents]],
    )
    _update_terms(conn, names, documents)
    conn.execute(
        sql.SQL(
            "UPDATE {} SET n_docs = n_docs + %s, total_len = total_len + %s, max_len = GREATEST(max_len, %s)"
        ).format(names["stats"]),
        [len(documents), sum(length for *_, length in documents), max(length for *_, length in documents)],
    )


def _update_terms(conn: Connection[Any], names: dict[str, sql.Identifier], documents: list[Analyzed]) -> None:
    """Add the documents' counts to their terms' frequencies and merge their postings into the terms' peaks."""
    code: dict[str, int] = {}
    for _, terms, _, _ in documents:
        for term in terms:
            code.setdefault(term, len(code))
    vocabulary = list(code)
    stored = conn.execute(
        sql.SQL("SELECT term, peak_tf, peak_len FROM {} WHERE term = ANY(%s)").format(names["terms"]), [vocabulary]
    ).fetchall()
    entries = [(code[t], tf, length) for _, terms, tfs, length in documents for t, tf in zip(terms, tfs, strict=True)]
    df = np.bincount([entry[0] for entry in entries], minlength=len(vocabulary))
    entries += [
        (code[term], tf, length) for term, tfs, lengths in stored for tf, length in zip(tfs, lengths, strict=True)
    ]
    table = np.array(entries, dtype=np.int64).reshape(-1, 3)
    table = table[np.argsort(table[:, 0], kind="stable")]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(table[:, 0], minlength=len(vocabulary)))])
    peak_ptr, peak_tf, peak_len = peaks(ptr, table[:, 1], table[:, 2])
    conn.execute("CREATE TEMP TABLE docqa_terms (term text, df integer, peak_tf integer[], peak_len integer[]) "
                 "ON COMMIT DROP")  # fmt: skip
    with conn.cursor().copy("COPY docqa_terms (term, df, peak_tf, peak_len) FROM STDIN") as copy:
        for index, term in enumerate(vocabulary):
            start, end = int(peak_ptr[index]), int(peak_ptr[index + 1])
            copy.write_row((term, int(df[index]), peak_tf[start:end].tolist(), peak_len[start:end].tolist()))
    conn.execute(
        sql.SQL(
            "INSERT INTO {} AS t (term, df, peak_tf, peak_len) SELECT term, df, peak_tf, peak_len FROM docqa_terms "
            "ON CONFLICT (term) DO UPDATE SET df = t.df + EXCLUDED.df, peak_tf = EXCLUDED.peak_tf, "
            "peak_len = EXCLUDED.peak_len"
        ).format(names["terms"])
    )
    conn.execute("DROP TABLE docqa_terms")


def remove_postings(conn: Connection[Any], names: dict[str, sql.Identifier], removed: list[tuple[Any, ...]]) -> None:
    """Take the deleted documents ``removed`` (id, terms, length) out of the postings and the statistics (a
    term's peaks stay: still bounds)."""
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
    max_len: int
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
    peaks: list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Where:
    """A filter compiled to SQL over the documents table (``TRUE`` for none) and its parameters."""

    text: str
    params: list[Any]
    filtered: bool


class _Statement:
    """SQL text with ``%s`` placeholders and their parameters, built in order."""

    def __init__(self) -> None:
        self.parts: list[sql.Composable] = []
        self.params: list[Any] = []

    def add(self, text: str, *params: Any, **names: sql.Composable) -> _Statement:
        self.parts.append(sql.SQL(text).format(**names) if names else sql.SQL(text))  # type: ignore[arg-type]
        self.params.extend(params)
        return self


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
        avgdl = statistics.total_len / statistics.n_docs if statistics.total_len else 1.0
        terms = self._terms(Counter(tokens), statistics, avgdl)
        if terms is None:
            return []
        head = self._head(avgdl)
        if small_filter:  # few documents pass the filter: score them all
            rows = self._fetch(self._filtered(head, terms, k))
        else:
            theta = self._probe(head, terms, k, statistics.n_docs)
            essential, optional = split_terms(terms.upper, terms.df, theta)
            rows = self._fetch(self._main(head, terms, essential, optional, theta, avgdl, statistics.max_len, k))
        constant = self._absent_constant(terms)
        return [(*row[:-1], float(row[-1]) + constant) for row in rows]

    # ----------------------------------------------------------------------------------- reading
    def _statistics(self) -> Statistics:
        row = self.conn.execute(
            sql.SQL("SELECT n_docs, total_len, max_len, okapi_idf_sum, vocabulary FROM {}").format(self.names["stats"])
        ).fetchone()
        return Statistics(0, 0, 0, 0.0, 0) if row is None else Statistics(*row)

    def _terms(self, counts: Counter[str], statistics: Statistics, avgdl: float) -> _Terms | None:
        rows = self.conn.execute(
            sql.SQL("SELECT term, df, peak_tf, peak_len FROM {} WHERE term = ANY(%s) AND df > 0 ORDER BY term").format(
                self.names["terms"]
            ),
            [list(counts)],
        ).fetchall()
        if not rows:
            return None
        texts = [row[0] for row in rows]
        df = np.array([row[1] for row in rows], dtype=np.int64)
        mean = statistics.okapi_idf_sum / statistics.vocabulary if statistics.vocabulary else 0.0
        idf = idf_values(self.params, statistics.n_docs, df, mean)
        count = np.array([counts[text] for text in texts], dtype=np.float64)
        term_peaks = [(np.array(row[2], dtype=np.float64), np.array(row[3], dtype=np.float64)) for row in rows]
        best = np.array([saturation(self.params, tf, length, avgdl).max() for tf, length in term_peaks])
        extreme = idf * count * best
        upper = np.maximum(extreme, 0.0) * (1 + _SLACK)
        lower = np.minimum(extreme, 0.0) * (1 + _SLACK)
        return _Terms(texts, idf * count, idf, count, upper, lower, df, term_peaks)

    def _fetch(self, statement: _Statement) -> list[tuple[Any, ...]]:
        # Never a generic plan: the terms' frequencies (in the statistics) decide the plan.
        return self.conn.execute(sql.Composed(statement.parts), statement.params, prepare=False).fetchall()

    # ------------------------------------------------------------------------------- statements
    def _head(self, avgdl: float) -> tuple[str, list[float]]:
        params = self.params
        delta = float(params.delta) if params.delta is not None else 0.0
        text = ("WITH c AS (SELECT %s::float8 AS k1, %s::float8 AS k1p1, %s::float8 AS omb, %s::float8 AS b, "
                "%s::float8 AS avgdl, %s::float8 AS delta)")  # fmt: skip
        return text, [params.k1, params.k1 + 1, 1 - params.b, params.b, avgdl, delta]

    def _start(self, head: tuple[str, list[float]], terms: _Terms, positions: list[int]) -> _Statement:
        """The constants, and ``q``: the terms at ``positions`` with their weights."""
        statement = _Statement().add(head[0], *head[1])
        return statement.add(
            ", q AS (SELECT * FROM unnest(%s::text[], %s::float8[]) AS q(term, w))",
            [terms.terms[i] for i in positions],
            [float(terms.weights[i]) for i in positions],
        )

    def _gather(self, statement: _Statement, terms: _Terms, positions: list[int], filtered: bool) -> _Statement:
        """``SELECT doc_id, partial, len`` over the postings of the terms at ``positions`` (within the filter).

        A term's weight comes from a ``CASE`` rather than a join, so that the planner estimates the rows from the
        terms' own statistics (``term = ANY(...)``) and aggregates by hashing."""
        statement.add("SELECT p.doc_id, sum(CASE p.term")
        for position in positions:
            statement.add(" WHEN %s THEN %s::float8", terms.terms[position], float(terms.weights[position]))
        statement.add(
            " END * {saturation}) AS partial, max(p.len) AS len FROM {postings} p CROSS JOIN c",
            saturation=sql.SQL(_SATURATION[self.params.variant]),  # type: ignore[arg-type]
            postings=self.names["postings"],
        )
        if filtered:
            statement.add(" JOIN {table} ON id = p.doc_id", table=self.table)
        statement.add(" WHERE p.term = ANY(%s)", [terms.terms[i] for i in positions])
        if filtered:
            statement.add(" AND ").add(self.where.text, *self.where.params)
        return statement.add(" GROUP BY p.doc_id")

    def _lookup(self, statement: _Statement, source: str, target: str, term: str, weight: float) -> None:
        """``target``: the rows of ``source`` with what ``term`` gives each added to its score (one index probe)."""
        statement.add(
            f", {target} AS (SELECT s.doc_id, s.score + coalesce(x.v, 0) AS score, s.len FROM {source} s "
            "LEFT JOIN LATERAL (SELECT %s::float8 * {saturation} AS v FROM {postings} p CROSS JOIN c "
            "WHERE p.term = %s AND p.doc_id = s.doc_id) x ON true",
            weight,
            term,
            saturation=sql.SQL(_SATURATION[self.params.variant]),  # type: ignore[arg-type]
            postings=self.names["postings"],
        )

    def _probe(self, head: tuple[str, list[float]], terms: _Terms, k: int, n_docs: int) -> float:
        """The k-th best full score among the documents scoring best on the rarest terms (-inf: fewer than k)."""
        budget = max(_PROBE_POSTINGS, n_docs // 32)
        picked: list[int] = []
        for position in np.argsort(terms.df, kind="stable").tolist():
            if picked and (len(picked) >= _PROBE_TERMS or terms.df[picked].sum() + terms.df[position] > budget):
                break
            picked.append(position)
        statement = self._start(head, terms, picked).add(", s0 AS (")
        self._gather(statement, terms, picked, self.where.filtered)
        statement.add(" ORDER BY partial DESC LIMIT %s), r0 AS (SELECT doc_id, partial AS score, len FROM s0)",
                      _PROBE_BEST * k)  # fmt: skip
        source = "r0"
        for step, position in enumerate(p for p in range(len(terms.terms)) if p not in picked):
            self._lookup(statement, source, f"r{step + 1}", terms.terms[position], float(terms.weights[position]))
            statement.add(")")
            source = f"r{step + 1}"
        rows = self._fetch(statement.add(f" SELECT doc_id, score FROM {source}"))
        if len(rows) < k:
            return -np.inf
        return float(sorted((float(row[-1]) for row in rows), reverse=True)[k - 1])

    def _main(
        self,
        head: tuple[str, list[float]],
        terms: _Terms,
        essential: list[int],
        optional: list[int],
        theta: float,
        avgdl: float,
        max_len: int,
        k: int,
    ) -> _Statement:
        """Candidates from the essential terms, completed with the optional ones, pruned before each step."""
        bounds = self._length_bounds(terms, optional, avgdl, min(max_len, _MAX_LENGTHS))
        remaining = np.cumsum(bounds[::-1], axis=0)[::-1] * (1 + _SLACK)
        statement = self._start(head, terms, essential).add(", s0 AS (")
        self._gather(statement, terms, essential, filtered=False)
        statement.add("), r0 AS (SELECT doc_id, partial AS score, len FROM s0)")
        source = "r0"
        for step, position in enumerate(optional):
            self._lookup(statement, source, f"r{step + 1}", terms.terms[position], float(terms.weights[position]))
            self._keep(statement, remaining[step], theta)
            statement.add(")")
            source = f"r{step + 1}"
        statement.add(f" SELECT {{columns}}, r.score FROM {source} r JOIN {{table}} ON id = r.doc_id WHERE ",
                      columns=self.columns, table=self.table)  # fmt: skip
        statement.add(self.where.text, *self.where.params)
        return statement.add(" ORDER BY r.score DESC, seq LIMIT %s", k)

    def _keep(self, statement: _Statement, remaining: np.ndarray, theta: float) -> None:
        """Keep the source rows ``s`` that can still reach ``theta``: score + (the most the terms still to add
        can give a document of the row's length) >= theta."""
        if theta == -np.inf:
            return
        cutoff = theta * (1 - _SLACK) if theta > 0 else theta * (1 + _SLACK)
        statement.add(" WHERE s.score + (%s::float8[])[least(s.len, %s) + 1] >= %s",
                      remaining.tolist(), len(remaining) - 1, cutoff)  # fmt: skip

    def _length_bounds(self, terms: _Terms, positions: list[int], avgdl: float, longest: int) -> np.ndarray:
        """Per optional term (rows) and document length 0..longest, then any length (last column): the most a
        document of that length gets from the term (its best peak no longer than the document)."""
        lengths = np.arange(longest + 1, dtype=np.float64)
        bounds = np.zeros((len(positions), longest + 2))
        for row, position in enumerate(positions):
            tf, peak_len = terms.peaks[position]
            values = saturation(self.params, tf[:, None], lengths[None, :], avgdl)
            values[peak_len[:, None] > lengths[None, :]] = 0.0
            per_length = values.max(axis=0, initial=0.0) * float(terms.weights[position])
            bounds[row, :-1] = np.minimum(np.maximum(per_length, 0.0) * (1 + _SLACK), terms.upper[position])
            bounds[row, -1] = terms.upper[position]
        return bounds

    def _filtered(self, head: tuple[str, list[float]], terms: _Terms, k: int) -> _Statement:
        """Every document passing the filter, scored on all the query's terms."""
        every = list(range(len(terms.terms)))
        statement = self._start(head, terms, every)
        statement.add(
            " SELECT {columns}, sum(q.w * {saturation}) AS bm25_score FROM {table} JOIN {postings} p "
            "ON p.doc_id = id JOIN q ON q.term = p.term CROSS JOIN c WHERE ",
            columns=self.columns,
            saturation=sql.SQL(_SATURATION[self.params.variant]),  # type: ignore[arg-type]
            table=self.table,
            postings=self.names["postings"],
        )
        statement.add(self.where.text, *self.where.params)
        return statement.add(" GROUP BY id ORDER BY bm25_score DESC, seq LIMIT %s", k)

    def _absent_constant(self, terms: _Terms) -> float:
        if self.params.variant != "bm25plus":
            return 0.0
        return float(np.dot(terms.idf * float(self.params.delta), terms.counts))  # type: ignore[arg-type]


# A term's saturation in SQL, operation for operation as bm25_index.saturation (c: the constants; p: a posting).
_NORM = "(c.omb + c.b * p.len / c.avgdl)"
_SATURATION = {
    "okapi": f"(p.tf * c.k1p1 / (p.tf + c.k1 * {_NORM}))",
    "bm25l": f"(p.tf * c.k1p1 * (p.tf / {_NORM} + c.delta) / (c.k1 + p.tf / {_NORM} + c.delta))",
    "bm25plus": f"((p.tf * c.k1p1) / (c.k1 * {_NORM} + p.tf))",
}
